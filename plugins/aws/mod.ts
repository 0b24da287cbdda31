/**
 * `@imbi/plugin-aws`: Imbi plugins for AWS, sharing one service application
 * (access key id, secret access key, optional session token) and the
 * service's region.
 *
 * - `aws-ssm`: configuration on SSM Parameter Store.
 * - `aws-cloudwatch-logs`: logs from CloudWatch Logs.
 *
 * @module
 */

import { CloudWatchLogs } from "./cloudwatch_logs.ts";
import { SsmConfiguration } from "./ssm.ts";

export { CloudWatchLogs, filterPattern } from "./cloudwatch_logs.ts";
export { SsmConfiguration } from "./ssm.ts";

/** The entry points of this package. */
export const plugins = [SsmConfiguration, CloudWatchLogs];
