// Runs after install: proves the project-provided Node 24 is first on the path of npm scripts.
const major = Number(process.versions.node.split('.')[0]);
if (major < 24) {
  console.error(`ehrflow needs Node >= 24 for its scripts, found ${process.versions.node}.`);
  console.error('The pinned "node" dev dependency provides it; run `npm install` again if it is missing.');
  process.exit(1);
}
