import { stat } from "node:fs/promises";
import { isAbsolute, resolve, sep } from "node:path";

/**
 * What a lock is on. Resources are strings so they can be stored, listed and compared as-is:
 *   file:<absolute path>      one file (taken automatically before Write/Edit/MultiEdit/NotebookEdit change it)
 *   workdir:<absolute path>   a directory and everything below it (taken on request)
 * Paths are normalised with `path.resolve` (no trailing slash, no `..`); symlinks are not followed.
 */
export type LockScope = "file" | "workdir";
export type LockKind = "auto" | "explicit";

export function fileResource(path: string): string {
  return `file:${resolve(path)}`;
}

export function workdirResource(path: string): string {
  return `workdir:${resolve(path)}`;
}

export function parseResource(resource: string): { scope: LockScope; path: string } {
  const colon = resource.indexOf(":");
  const scope = resource.slice(0, colon);
  return { scope: scope === "workdir" ? "workdir" : "file", path: resource.slice(colon + 1) };
}

/** "file /w/a.txt" or "workDir /w": how people read a resource. */
export function describeResource(resource: string): string {
  const { scope, path } = parseResource(resource);
  return `${scope === "workdir" ? "workDir" : "file"} ${path}`;
}

function contains(dir: string, path: string): boolean {
  return path === dir || path.startsWith(dir.endsWith(sep) ? dir : dir + sep);
}

/**
 * Whether two sessions could not hold these at once: the same file, a file inside a locked directory, or
 * two directories one of which contains the other.
 */
export function resourcesConflict(a: string, b: string): boolean {
  if (a === b) return true;
  const left = parseResource(a);
  const right = parseResource(b);
  if (left.scope === "file" && right.scope === "file") return false;
  if (left.scope === "workdir" && contains(left.path, right.path)) return true;
  return right.scope === "workdir" && contains(right.path, left.path);
}

/** The tools that change a file, and where their input names it. */
const FILE_EDITING_TOOLS: Record<string, string> = {
  Write: "file_path",
  Edit: "file_path",
  MultiEdit: "file_path",
  NotebookEdit: "notebook_path",
};

/** The file resource a tool call is about to change, or undefined when the call changes no file. */
export function resourceOfToolCall(toolName: string, input: unknown, workDir: string): string | undefined {
  const field = FILE_EDITING_TOOLS[toolName];
  if (!field || typeof input !== "object" || input === null) return undefined;
  const path = (input as Record<string, unknown>)[field];
  if (typeof path !== "string" || path.length === 0) return undefined;
  return fileResource(resolve(workDir, path));
}

/**
 * A resource named by a caller: `file:<path>`, `workdir:<path>`, or a bare path (relative to `workDir`),
 * which means the directory when one exists there and the file otherwise.
 */
export async function resolveResource(input: string | undefined, workDir: string): Promise<string> {
  if (!input) return workdirResource(workDir);
  const match = /^(file|workdir):(.+)$/.exec(input);
  if (match?.[1] && match[2]) {
    const path = isAbsolute(match[2]) ? match[2] : resolve(workDir, match[2]);
    return match[1] === "file" ? fileResource(path) : workdirResource(path);
  }
  const path = resolve(workDir, input);
  const info = await stat(path).catch(() => undefined);
  return info?.isDirectory() ? workdirResource(path) : fileResource(path);
}
