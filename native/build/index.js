// The compiled binding; throws when the build did not run or failed (SegmentBuild then uses its JS path).
module.exports = require('./build/Release/sluice_build.node');
