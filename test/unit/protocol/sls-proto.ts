/** The SLS schema of sls-api.md §4 for protobufjs, used only to cross-check the hand-written codec. */
import protobuf from 'protobufjs';

const SCHEMA = `
syntax = "proto2";
message LogContent { required string Key = 1; required string Value = 2; }
message Log {
  required uint32 Time = 1;
  repeated LogContent Contents = 2;
  repeated string Values = 3;
  optional fixed32 TimeNs = 4;
}
message LogTag { required string Key = 1; required string Value = 2; }
message LogGroup {
  repeated Log Logs = 1;
  optional string Reserved = 2;
  optional string Topic = 3;
  optional string Source = 4;
  optional string MachineUUID = 5;
  repeated LogTag LogTags = 6;
}
message LogGroupList { repeated LogGroup LogGroups = 1; }
enum SlsCompressType { SLS_CMP_NONE = 0; SLS_CMP_DEFLATE = 1; SLS_CMP_LZ4 = 2; SLS_CMP_ZSTD = 3; }
message SlsLogPackage { required bytes data = 1; optional int32 uncompress_size = 2; optional SlsCompressType compress_type = 3; }
message SlsLogPackageList { repeated SlsLogPackage packages = 1; }
`;

const root = protobuf.parse(SCHEMA, { keepCase: true }).root;
export const PbLogGroup = root.lookupType('LogGroup');
export const PbLogGroupList = root.lookupType('LogGroupList');
export const PbSlsLogPackageList = root.lookupType('SlsLogPackageList');
