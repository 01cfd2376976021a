// The compiled binding; throws when the build did not run or failed (callers fall back to another LZ4).
module.exports = require('./build/Release/sluice_lz4.node');
