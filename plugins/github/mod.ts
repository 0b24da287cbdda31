/**
 * `@imbi/plugin-github`: the `github-actions` configuration plugin (GitHub
 * Actions repository variables and secrets).
 *
 * @module
 */

import { GitHubActionsConfiguration } from "./github.ts";

export { GitHubActionsConfiguration, githubError } from "./github.ts";

/** The entry points of this package. */
export const plugins = [GitHubActionsConfiguration];
