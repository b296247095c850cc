import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmdirSync,
  rmSync,
  writeSync,
} from "node:fs";
import { join } from "node:path";
import { ValidationError } from "./names.js";

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/**
 * One command at a time changes an inventory: two concurrent `machine add`s would each read the
 * password file and the last writer would drop the other's user. The lock file holds the pid, so a
 * lock left by a process that died is taken over instead of blocking forever.
 */
export function withInventoryLock<T>(inventoryDir: string, fn: () => T): T {
  const existed = existsSync(inventoryDir);
  mkdirSync(inventoryDir, { recursive: true });
  const lock = join(inventoryDir, ".floorsense.lock");
  let fd: number | undefined;
  for (let attempt = 0; attempt < 2 && fd === undefined; attempt++) {
    try {
      fd = openSync(lock, "wx", 0o644);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number.parseInt(readFileSync(lock, "utf8"), 10);
      if (Number.isInteger(holder) && alive(holder)) {
        throw new ValidationError(
          `another floorsense command (pid ${holder}) is changing this inventory; wait for it, or delete ${lock} if no such process runs`,
        );
      }
      rmSync(lock, { force: true });
    }
  }
  if (fd === undefined) throw new ValidationError(`cannot take the inventory lock ${lock}`);
  try {
    writeSync(fd, `${process.pid}\n`);
    closeSync(fd);
    return fn();
  } finally {
    rmSync(lock, { force: true });
    // A refused first command leaves no empty inventory folder behind.
    if (!existed && readdirSync(inventoryDir).length === 0) rmdirSync(inventoryDir);
  }
}
