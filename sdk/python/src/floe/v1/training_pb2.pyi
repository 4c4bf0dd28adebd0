from floe.v1 import serving_pb2 as _serving_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class GetHistoricalFeaturesRequest(_message.Message):
    __slots__ = ("feature_service", "features", "entity_rows_arrow_ipc", "entity_table", "snapshot_ids")
    class SnapshotIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    FEATURE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ENTITY_ROWS_ARROW_IPC_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TABLE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    feature_service: str
    features: _serving_pb2.FeatureRefs
    entity_rows_arrow_ipc: bytes
    entity_table: EntityTable
    snapshot_ids: _containers.ScalarMap[str, int]
    def __init__(self, feature_service: _Optional[str] = ..., features: _Optional[_Union[_serving_pb2.FeatureRefs, _Mapping]] = ..., entity_rows_arrow_ipc: _Optional[bytes] = ..., entity_table: _Optional[_Union[EntityTable, _Mapping]] = ..., snapshot_ids: _Optional[_Mapping[str, int]] = ...) -> None: ...

class EntityTable(_message.Message):
    __slots__ = ("table", "snapshot_id")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    table: str
    snapshot_id: int
    def __init__(self, table: _Optional[str] = ..., snapshot_id: _Optional[int] = ...) -> None: ...

class GetHistoricalFeaturesResponse(_message.Message):
    __slots__ = ("arrow_ipc_chunk", "manifest", "progress")
    ARROW_IPC_CHUNK_FIELD_NUMBER: _ClassVar[int]
    MANIFEST_FIELD_NUMBER: _ClassVar[int]
    PROGRESS_FIELD_NUMBER: _ClassVar[int]
    arrow_ipc_chunk: bytes
    manifest: DatasetManifest
    progress: RetrievalProgress
    def __init__(self, arrow_ipc_chunk: _Optional[bytes] = ..., manifest: _Optional[_Union[DatasetManifest, _Mapping]] = ..., progress: _Optional[_Union[RetrievalProgress, _Mapping]] = ...) -> None: ...

class RetrievalProgress(_message.Message):
    __slots__ = ("phase", "view", "rows", "total_rows")
    class Phase(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        PHASE_UNSPECIFIED: _ClassVar[RetrievalProgress.Phase]
        PHASE_QUEUED: _ClassVar[RetrievalProgress.Phase]
        PHASE_READING: _ClassVar[RetrievalProgress.Phase]
        PHASE_WRITING: _ClassVar[RetrievalProgress.Phase]
    PHASE_UNSPECIFIED: RetrievalProgress.Phase
    PHASE_QUEUED: RetrievalProgress.Phase
    PHASE_READING: RetrievalProgress.Phase
    PHASE_WRITING: RetrievalProgress.Phase
    PHASE_FIELD_NUMBER: _ClassVar[int]
    VIEW_FIELD_NUMBER: _ClassVar[int]
    ROWS_FIELD_NUMBER: _ClassVar[int]
    TOTAL_ROWS_FIELD_NUMBER: _ClassVar[int]
    phase: RetrievalProgress.Phase
    view: str
    rows: int
    total_rows: int
    def __init__(self, phase: _Optional[_Union[RetrievalProgress.Phase, str]] = ..., view: _Optional[str] = ..., rows: _Optional[int] = ..., total_rows: _Optional[int] = ...) -> None: ...

class DatasetManifest(_message.Message):
    __slots__ = ("snapshot_ids", "spec_hash", "registry_version", "feature_service", "features", "entity_rows", "created_at", "columns", "entity_table")
    class SnapshotIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SNAPSHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    SPEC_HASH_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ENTITY_ROWS_FIELD_NUMBER: _ClassVar[int]
    CREATED_AT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    ENTITY_TABLE_FIELD_NUMBER: _ClassVar[int]
    snapshot_ids: _containers.ScalarMap[str, int]
    spec_hash: str
    registry_version: str
    feature_service: str
    features: _containers.RepeatedScalarFieldContainer[str]
    entity_rows: int
    created_at: _timestamp_pb2.Timestamp
    columns: _containers.RepeatedScalarFieldContainer[str]
    entity_table: EntityTable
    def __init__(self, snapshot_ids: _Optional[_Mapping[str, int]] = ..., spec_hash: _Optional[str] = ..., registry_version: _Optional[str] = ..., feature_service: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., entity_rows: _Optional[int] = ..., created_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., columns: _Optional[_Iterable[str]] = ..., entity_table: _Optional[_Union[EntityTable, _Mapping]] = ...) -> None: ...
