/** The share tests' shell helpers: the shared harness's `sh` and `ok`. */
export { ok, sh } from '../helpers/mount.ts';
