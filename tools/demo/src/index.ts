export { runDemo } from './run.ts';
