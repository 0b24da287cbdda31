/**
 * Copies of fixture packages: a directory tree copied file by file, and a
 * Deno package copied with another version in its `deno.json` (for fixtures
 * whose behaviour follows their version, so one source serves every
 * version).
 *
 * @module
 */

/**
 * Copies a directory tree (files and directories; links are left out).
 *
 * @param from The directory.
 * @param to Where the copy goes (created).
 */
export async function copyDir(from: string, to: string): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (entry.isDirectory) await copyDir(`${from}/${entry.name}`, `${to}/${entry.name}`);
    else if (entry.isFile) await Deno.copyFile(`${from}/${entry.name}`, `${to}/${entry.name}`);
  }
}

/**
 * Copies a Deno package with `version` written into its `deno.json`.
 *
 * @param dir The package directory.
 * @param version The copy's version.
 * @param to Where the copy goes (created).
 * @returns `to`.
 */
export async function copyAtVersion(dir: string, version: string, to: string): Promise<string> {
  await copyDir(dir, to);
  const config = JSON.parse(await Deno.readTextFile(`${dir}/deno.json`));
  await Deno.writeTextFile(`${to}/deno.json`, JSON.stringify({ ...config, version }, null, 2) + "\n");
  return to;
}
