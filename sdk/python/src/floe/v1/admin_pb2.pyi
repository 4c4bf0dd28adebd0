from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class MaterializeRequest(_message.Message):
    __slots__ = ("views",)
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    views: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, views: _Optional[_Iterable[str]] = ...) -> None: ...

class MaterializeResponse(_message.Message):
    __slots__ = ("view", "snapshot_id", "rows_read", "rows_written", "done", "up_to_date")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    ROWS_READ_FIELD_NUMBER: _ClassVar[int]
    ROWS_WRITTEN_FIELD_NUMBER: _ClassVar[int]
    DONE_FIELD_NUMBER: _ClassVar[int]
    UP_TO_DATE_FIELD_NUMBER: _ClassVar[int]
    view: str
    snapshot_id: int
    rows_read: int
    rows_written: int
    done: bool
    up_to_date: bool
    def __init__(self, view: _Optional[str] = ..., snapshot_id: _Optional[int] = ..., rows_read: _Optional[int] = ..., rows_written: _Optional[int] = ..., done: bool = ..., up_to_date: bool = ...) -> None: ...

class ListSnapshotsRequest(_message.Message):
    __slots__ = ("view", "limit")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    LIMIT_FIELD_NUMBER: _ClassVar[int]
    view: str
    limit: int
    def __init__(self, view: _Optional[str] = ..., limit: _Optional[int] = ...) -> None: ...

class Snapshot(_message.Message):
    __slots__ = ("snapshot_id", "parent_id", "committed_at", "operation", "added_records", "deleted_records", "materialized")
    SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    PARENT_ID_FIELD_NUMBER: _ClassVar[int]
    COMMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    ADDED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    DELETED_RECORDS_FIELD_NUMBER: _ClassVar[int]
    MATERIALIZED_FIELD_NUMBER: _ClassVar[int]
    snapshot_id: int
    parent_id: int
    committed_at: _timestamp_pb2.Timestamp
    operation: str
    added_records: int
    deleted_records: int
    materialized: bool
    def __init__(self, snapshot_id: _Optional[int] = ..., parent_id: _Optional[int] = ..., committed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., operation: _Optional[str] = ..., added_records: _Optional[int] = ..., deleted_records: _Optional[int] = ..., materialized: bool = ...) -> None: ...

class ListSnapshotsResponse(_message.Message):
    __slots__ = ("snapshots",)
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    snapshots: _containers.RepeatedCompositeFieldContainer[Snapshot]
    def __init__(self, snapshots: _Optional[_Iterable[_Union[Snapshot, _Mapping]]] = ...) -> None: ...

class GetFreshnessRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ViewFreshness(_message.Message):
    __slots__ = ("view", "latest", "materialized_snapshot_id", "materialized_committed_at", "lag_seconds")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    LATEST_FIELD_NUMBER: _ClassVar[int]
    MATERIALIZED_SNAPSHOT_ID_FIELD_NUMBER: _ClassVar[int]
    MATERIALIZED_COMMITTED_AT_FIELD_NUMBER: _ClassVar[int]
    LAG_SECONDS_FIELD_NUMBER: _ClassVar[int]
    view: str
    latest: Snapshot
    materialized_snapshot_id: int
    materialized_committed_at: _timestamp_pb2.Timestamp
    lag_seconds: float
    def __init__(self, view: _Optional[str] = ..., latest: _Optional[_Union[Snapshot, _Mapping]] = ..., materialized_snapshot_id: _Optional[int] = ..., materialized_committed_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., lag_seconds: _Optional[float] = ...) -> None: ...

class GetFreshnessResponse(_message.Message):
    __slots__ = ("views", "materializer")
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    MATERIALIZER_FIELD_NUMBER: _ClassVar[int]
    views: _containers.RepeatedCompositeFieldContainer[ViewFreshness]
    materializer: MaterializerStatus
    def __init__(self, views: _Optional[_Iterable[_Union[ViewFreshness, _Mapping]]] = ..., materializer: _Optional[_Union[MaterializerStatus, _Mapping]] = ...) -> None: ...

class MaterializerStatus(_message.Message):
    __slots__ = ("role", "leader", "last_pass_at", "last_error")
    class Role(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
        __slots__ = ()
        ROLE_UNSPECIFIED: _ClassVar[MaterializerStatus.Role]
        ROLE_OFF: _ClassVar[MaterializerStatus.Role]
        ROLE_FOLLOWER: _ClassVar[MaterializerStatus.Role]
        ROLE_LEADER: _ClassVar[MaterializerStatus.Role]
        ROLE_STANDBY: _ClassVar[MaterializerStatus.Role]
    ROLE_UNSPECIFIED: MaterializerStatus.Role
    ROLE_OFF: MaterializerStatus.Role
    ROLE_FOLLOWER: MaterializerStatus.Role
    ROLE_LEADER: MaterializerStatus.Role
    ROLE_STANDBY: MaterializerStatus.Role
    ROLE_FIELD_NUMBER: _ClassVar[int]
    LEADER_FIELD_NUMBER: _ClassVar[int]
    LAST_PASS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    role: MaterializerStatus.Role
    leader: str
    last_pass_at: _timestamp_pb2.Timestamp
    last_error: str
    def __init__(self, role: _Optional[_Union[MaterializerStatus.Role, str]] = ..., leader: _Optional[str] = ..., last_pass_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ...) -> None: ...

class GetServingStatsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class MethodStats(_message.Message):
    __slots__ = ("method", "count", "bucket_upper_bounds", "bucket_counts", "errors_by_code")
    class ErrorsByCodeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    METHOD_FIELD_NUMBER: _ClassVar[int]
    COUNT_FIELD_NUMBER: _ClassVar[int]
    BUCKET_UPPER_BOUNDS_FIELD_NUMBER: _ClassVar[int]
    BUCKET_COUNTS_FIELD_NUMBER: _ClassVar[int]
    ERRORS_BY_CODE_FIELD_NUMBER: _ClassVar[int]
    method: str
    count: int
    bucket_upper_bounds: _containers.RepeatedScalarFieldContainer[float]
    bucket_counts: _containers.RepeatedScalarFieldContainer[int]
    errors_by_code: _containers.ScalarMap[str, int]
    def __init__(self, method: _Optional[str] = ..., count: _Optional[int] = ..., bucket_upper_bounds: _Optional[_Iterable[float]] = ..., bucket_counts: _Optional[_Iterable[int]] = ..., errors_by_code: _Optional[_Mapping[str, int]] = ...) -> None: ...

class GetServingStatsResponse(_message.Message):
    __slots__ = ("at", "methods", "values_by_tier")
    class ValuesByTierEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    AT_FIELD_NUMBER: _ClassVar[int]
    METHODS_FIELD_NUMBER: _ClassVar[int]
    VALUES_BY_TIER_FIELD_NUMBER: _ClassVar[int]
    at: _timestamp_pb2.Timestamp
    methods: _containers.RepeatedCompositeFieldContainer[MethodStats]
    values_by_tier: _containers.ScalarMap[str, int]
    def __init__(self, at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., methods: _Optional[_Iterable[_Union[MethodStats, _Mapping]]] = ..., values_by_tier: _Optional[_Mapping[str, int]] = ...) -> None: ...
