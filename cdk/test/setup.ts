// Runs in every test file: removes the temporary directories the file made (vitest ends its worker
// processes without running `exit` handlers).
import { afterAll } from 'vitest';
import { cleanUpStaged } from '../lib/policy';
import { removeTempDirs } from './helpers';

afterAll(() => {
  removeTempDirs();
  cleanUpStaged();
});
