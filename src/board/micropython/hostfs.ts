// A host folder as an Emscripten filesystem in the MicroPython worker (worker.ts mounts it): `walnut run
// --fs DIR` gives the board DIR as its flash, read-write, and the script's own folder is mounted read-only
// so a package beside the script imports. The build has no NODEFS, so this is our own small one over
// node:fs's synchronous calls (the worker thread may block). Confinement: names come one path component at a
// time from the interpreter's path walk, which resolves `..` in its own tree, so no lookup leaves the mount;
// a symbolic link is followed only when its target stays inside the folder.

import {
  closeSync,
  fstatSync,
  ftruncateSync,
  lstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readSync,
  realpathSync,
  renameSync,
  rmdirSync,
  statSync,
  truncateSync,
  unlinkSync,
  utimesSync,
  writeSync,
  chmodSync,
  type Stats,
} from "node:fs";
import { join, sep } from "node:path";

/**
 * Errno values of the interpreter's C library (WASI's numbering, which Emscripten uses) for the host errors
 * we pass on, and the board's (Linux / MicroPython) value of each, which the Python side reports instead.
 */
export const FS_ERRNO: Readonly<Record<string, readonly [wasi: number, board: number]>> = {
  EPERM: [63, 1],
  ENOENT: [44, 2],
  EIO: [29, 5],
  EBADF: [8, 9],
  EACCES: [2, 13],
  EBUSY: [10, 16],
  EEXIST: [20, 17],
  EXDEV: [75, 18],
  ENOTDIR: [54, 20],
  EISDIR: [31, 21],
  EINVAL: [28, 22],
  EMFILE: [33, 24],
  ENOSPC: [51, 28],
  EROFS: [69, 30],
  ENAMETOOLONG: [37, 36],
  ENOTEMPTY: [55, 39],
};

const S_IFMT = 0o170000;
const S_IFDIR = 0o040000;
const S_IFREG = 0o100000;

interface FsNode {
  name: string;
  mode: number;
  parent: FsNode;
  mount: { opts: HostMountOptions };
  node_ops: unknown;
  stream_ops: unknown;
  /** Host path of this node (ours). */
  hostPath?: string;
}
interface FsStream {
  node: FsNode;
  flags: number;
  position: number;
  /** The host file descriptor (ours). */
  hostFd?: number;
}
/** The parts of Emscripten's FS object this filesystem uses. */
export interface EmscriptenFs {
  createNode(parent: FsNode | null, name: string, mode: number, dev: number): FsNode;
  lookupNode(parent: FsNode, name: string): FsNode;
  hashRemoveNode(node: FsNode): void;
  isDir(mode: number): boolean;
  ErrnoError: new (errno: number) => Error;
  mount(type: unknown, opts: HostMountOptions, mountpoint: string): unknown;
  mkdirTree(path: string): void;
}

export interface HostMountOptions {
  /** The host folder (absolute, real path). */
  root: string;
  writable: boolean;
}

const O_ACCMODE = 3;
const O_CREAT = 0o100;
const O_TRUNC = 0o1000;

/** Mounts host folder `root` at `mountpoint` of the interpreter's filesystem. */
export function mountHostFolder(fs: EmscriptenFs, mountpoint: string, root: string, writable: boolean): void {
  const realRoot = realpathSync(root);
  const fail = (code: string): Error => new fs.ErrnoError(FS_ERRNO[code]?.[0] ?? FS_ERRNO["EIO"]![0]);
  const fromHost = (e: unknown): Error => {
    if (e instanceof fs.ErrnoError) return e;
    const code = typeof e === "object" && e !== null && "code" in e ? String((e as { code: unknown }).code) : "EIO";
    return fail(code);
  };
  const guarded = <T>(f: () => T): T => {
    try {
      return f();
    } catch (e) {
      throw fromHost(e);
    }
  };
  const mustWrite = (): void => {
    if (!writable) throw fail("EROFS");
  };
  const pathOf = (node: FsNode): string => node.hostPath ?? realRoot;
  /** The host path of `name` in `parent`, refusing a symbolic link that leads outside the folder. */
  const childPath = (parent: FsNode, name: string): string => {
    if (name === "." || name === ".." || name.includes("/") || name.includes(sep)) throw fail("EINVAL");
    const path = join(pathOf(parent), name);
    let st: Stats | null = null;
    try {
      st = lstatSync(path);
    } catch {
      return path; // not there (yet): mknod may create it
    }
    if (st.isSymbolicLink()) {
      const target = guarded(() => realpathSync(path));
      if (target !== realRoot && !target.startsWith(realRoot + sep)) throw fail("EACCES");
    }
    return path;
  };
  const modeOf = (st: Stats): number => (st.isDirectory() ? S_IFDIR | (st.mode & 0o777) : S_IFREG | (st.mode & 0o777));
  const make = (parent: FsNode | null, name: string, mode: number, hostPath: string | undefined): FsNode => {
    const node = fs.createNode(parent, name, mode, 0);
    node.node_ops = nodeOps;
    node.stream_ops = streamOps;
    if (hostPath !== undefined) node.hostPath = hostPath;
    return node;
  };

  const nodeOps = {
    getattr(node: FsNode): Record<string, unknown> {
      const st = guarded(() => statSync(pathOf(node)));
      return {
        dev: 1,
        ino: st.ino,
        mode: modeOf(st),
        nlink: st.nlink,
        uid: 0,
        gid: 0,
        rdev: 0,
        size: st.isDirectory() ? 4096 : st.size,
        atime: st.atime,
        mtime: st.mtime,
        ctime: st.ctime,
        blksize: 4096,
        blocks: Math.ceil(st.size / 4096),
      };
    },
    setattr(node: FsNode, attr: { mode?: number; atime?: number | Date; mtime?: number | Date; size?: number }): void {
      mustWrite();
      const path = pathOf(node);
      guarded(() => {
        if (attr.mode !== undefined && attr.mode !== null) chmodSync(path, attr.mode & 0o777);
        if (attr.mtime !== undefined && attr.mtime !== null) utimesSync(path, attr.atime ?? attr.mtime, attr.mtime);
        if (attr.size !== undefined) truncateSync(path, attr.size);
      });
    },
    lookup(parent: FsNode, name: string): FsNode {
      const path = childPath(parent, name);
      const st = guarded(() => statSync(path));
      if (!st.isDirectory() && !st.isFile()) throw fail("EACCES");
      return make(parent, name, modeOf(st), path);
    },
    mknod(parent: FsNode, name: string, mode: number): FsNode {
      mustWrite();
      const path = childPath(parent, name);
      guarded(() => {
        if ((mode & S_IFMT) === S_IFDIR) mkdirSync(path, { mode: mode & 0o777 });
        else if ((mode & S_IFMT) === S_IFREG) closeSync(openSync(path, "wx", mode & 0o777));
        else throw fail("EPERM");
      });
      return make(parent, name, mode, path);
    },
    rename(oldNode: FsNode, newDir: FsNode, newName: string): void {
      mustWrite();
      const to = childPath(newDir, newName);
      guarded(() => renameSync(pathOf(oldNode), to));
      try {
        fs.hashRemoveNode(fs.lookupNode(newDir, newName));
      } catch {
        // nothing cached under the new name
      }
      oldNode.name = newName;
      oldNode.hostPath = to;
    },
    unlink(parent: FsNode, name: string): void {
      mustWrite();
      const path = childPath(parent, name);
      guarded(() => unlinkSync(path));
    },
    rmdir(parent: FsNode, name: string): void {
      mustWrite();
      const path = childPath(parent, name);
      guarded(() => rmdirSync(path));
    },
    readdir(node: FsNode): string[] {
      // Only what lookup would give: a link out of the folder, a socket or a device is not listed (the
      // C library stats every entry it lists, and one refusal would end the whole listing).
      const dir = pathOf(node);
      const names = guarded(() => readdirSync(dir)).filter((name) => {
        try {
          const st = statSync(childPath(node, name));
          return st.isFile() || st.isDirectory();
        } catch {
          return false;
        }
      });
      return [".", "..", ...names];
    },
    symlink(): never {
      throw fail("EPERM");
    },
    readlink(): never {
      throw fail("EINVAL");
    },
  };

  const streamOps = {
    open(stream: FsStream): void {
      if (fs.isDir(stream.node.mode)) return;
      const access = stream.flags & O_ACCMODE;
      if (access !== 0 || (stream.flags & (O_CREAT | O_TRUNC)) !== 0) mustWrite();
      // O_CREAT and O_EXCL were handled by the path walk (mknod); the host open needs only access and O_TRUNC.
      stream.hostFd = guarded(() => openSync(pathOf(stream.node), access | (stream.flags & O_TRUNC)));
    },
    close(stream: FsStream): void {
      if (stream.hostFd !== undefined) guarded(() => closeSync(stream.hostFd as number));
      stream.hostFd = undefined;
    },
    read(stream: FsStream, buffer: Uint8Array, offset: number, length: number, position: number): number {
      if (stream.hostFd === undefined) throw fail("EISDIR");
      const fd = stream.hostFd;
      return guarded(() => readSync(fd, buffer, offset, length, position));
    },
    write(stream: FsStream, buffer: Uint8Array, offset: number, length: number, position: number): number {
      mustWrite();
      if (stream.hostFd === undefined) throw fail("EISDIR");
      const fd = stream.hostFd;
      return guarded(() => writeSync(fd, buffer, offset, length, position));
    },
    llseek(stream: FsStream, offset: number, whence: number): number {
      let position = offset;
      if (whence === 1) position += stream.position;
      else if (whence === 2 && stream.hostFd !== undefined) {
        const fd = stream.hostFd;
        position += guarded(() => fstatSync(fd).size);
      }
      if (position < 0) throw fail("EINVAL");
      return position;
    },
    truncate(stream: FsStream, length: number): void {
      mustWrite();
      if (stream.hostFd === undefined) throw fail("EISDIR");
      const fd = stream.hostFd;
      guarded(() => ftruncateSync(fd, length));
    },
  };

  const type = {
    mount(): FsNode {
      return make(null, "/", S_IFDIR | 0o755, undefined);
    },
  };
  fs.mkdirTree(mountpoint);
  fs.mount(type, { root: realRoot, writable }, mountpoint);
}
