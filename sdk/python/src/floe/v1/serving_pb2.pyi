from floe.v1 import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class FeatureStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    FEATURE_STATUS_UNSPECIFIED: _ClassVar[FeatureStatus]
    FEATURE_STATUS_PRESENT: _ClassVar[FeatureStatus]
    FEATURE_STATUS_NOT_FOUND: _ClassVar[FeatureStatus]
    FEATURE_STATUS_EXPIRED: _ClassVar[FeatureStatus]
    FEATURE_STATUS_NULL: _ClassVar[FeatureStatus]
    FEATURE_STATUS_UNAVAILABLE: _ClassVar[FeatureStatus]
    FEATURE_STATUS_FILLED: _ClassVar[FeatureStatus]

class Tier(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    TIER_UNSPECIFIED: _ClassVar[Tier]
    TIER_L1: _ClassVar[Tier]
    TIER_ONLINE: _ClassVar[Tier]
    TIER_OFFLINE: _ClassVar[Tier]
    TIER_NONE: _ClassVar[Tier]
FEATURE_STATUS_UNSPECIFIED: FeatureStatus
FEATURE_STATUS_PRESENT: FeatureStatus
FEATURE_STATUS_NOT_FOUND: FeatureStatus
FEATURE_STATUS_EXPIRED: FeatureStatus
FEATURE_STATUS_NULL: FeatureStatus
FEATURE_STATUS_UNAVAILABLE: FeatureStatus
FEATURE_STATUS_FILLED: FeatureStatus
TIER_UNSPECIFIED: Tier
TIER_L1: Tier
TIER_ONLINE: Tier
TIER_OFFLINE: Tier
TIER_NONE: Tier

class GetOnlineFeaturesRequest(_message.Message):
    __slots__ = ("feature_service", "features", "entities", "as_of")
    FEATURE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    AS_OF_FIELD_NUMBER: _ClassVar[int]
    feature_service: str
    features: FeatureRefs
    entities: _containers.RepeatedCompositeFieldContainer[EntityColumn]
    as_of: AsOf
    def __init__(self, feature_service: _Optional[str] = ..., features: _Optional[_Union[FeatureRefs, _Mapping]] = ..., entities: _Optional[_Iterable[_Union[EntityColumn, _Mapping]]] = ..., as_of: _Optional[_Union[AsOf, _Mapping]] = ...) -> None: ...

class AsOf(_message.Message):
    __slots__ = ("time", "snapshots")
    TIME_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    time: _timestamp_pb2.Timestamp
    snapshots: ViewSnapshots
    def __init__(self, time: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., snapshots: _Optional[_Union[ViewSnapshots, _Mapping]] = ...) -> None: ...

class ViewSnapshots(_message.Message):
    __slots__ = ("snapshot_ids",)
    class SnapshotIdsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    SNAPSHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    snapshot_ids: _containers.ScalarMap[str, int]
    def __init__(self, snapshot_ids: _Optional[_Mapping[str, int]] = ...) -> None: ...

class FeatureRefs(_message.Message):
    __slots__ = ("refs",)
    REFS_FIELD_NUMBER: _ClassVar[int]
    refs: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, refs: _Optional[_Iterable[str]] = ...) -> None: ...

class EntityColumn(_message.Message):
    __slots__ = ("join_key", "int64_values", "string_values")
    JOIN_KEY_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUES_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUES_FIELD_NUMBER: _ClassVar[int]
    join_key: str
    int64_values: _types_pb2.Int64List
    string_values: _types_pb2.StringList
    def __init__(self, join_key: _Optional[str] = ..., int64_values: _Optional[_Union[_types_pb2.Int64List, _Mapping]] = ..., string_values: _Optional[_Union[_types_pb2.StringList, _Mapping]] = ...) -> None: ...

class FeatureColumn(_message.Message):
    __slots__ = ("name", "value_type", "int64_values", "double_values", "string_values", "bool_values", "float_vector_values", "timestamp_values", "statuses")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    INT64_VALUES_FIELD_NUMBER: _ClassVar[int]
    DOUBLE_VALUES_FIELD_NUMBER: _ClassVar[int]
    STRING_VALUES_FIELD_NUMBER: _ClassVar[int]
    BOOL_VALUES_FIELD_NUMBER: _ClassVar[int]
    FLOAT_VECTOR_VALUES_FIELD_NUMBER: _ClassVar[int]
    TIMESTAMP_VALUES_FIELD_NUMBER: _ClassVar[int]
    STATUSES_FIELD_NUMBER: _ClassVar[int]
    name: str
    value_type: _types_pb2.ValueType
    int64_values: _types_pb2.Int64List
    double_values: _types_pb2.DoubleList
    string_values: _types_pb2.StringList
    bool_values: _types_pb2.BoolList
    float_vector_values: _types_pb2.FloatVectorList
    timestamp_values: _types_pb2.TimestampList
    statuses: _containers.RepeatedScalarFieldContainer[FeatureStatus]
    def __init__(self, name: _Optional[str] = ..., value_type: _Optional[_Union[_types_pb2.ValueType, str]] = ..., int64_values: _Optional[_Union[_types_pb2.Int64List, _Mapping]] = ..., double_values: _Optional[_Union[_types_pb2.DoubleList, _Mapping]] = ..., string_values: _Optional[_Union[_types_pb2.StringList, _Mapping]] = ..., bool_values: _Optional[_Union[_types_pb2.BoolList, _Mapping]] = ..., float_vector_values: _Optional[_Union[_types_pb2.FloatVectorList, _Mapping]] = ..., timestamp_values: _Optional[_Union[_types_pb2.TimestampList, _Mapping]] = ..., statuses: _Optional[_Iterable[_Union[FeatureStatus, str]]] = ...) -> None: ...

class ViewRows(_message.Message):
    __slots__ = ("view", "event_time_unix_micros", "snapshot_ids", "tiers")
    VIEW_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_UNIX_MICROS_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOT_IDS_FIELD_NUMBER: _ClassVar[int]
    TIERS_FIELD_NUMBER: _ClassVar[int]
    view: str
    event_time_unix_micros: _containers.RepeatedScalarFieldContainer[int]
    snapshot_ids: _containers.RepeatedScalarFieldContainer[int]
    tiers: _containers.RepeatedScalarFieldContainer[Tier]
    def __init__(self, view: _Optional[str] = ..., event_time_unix_micros: _Optional[_Iterable[int]] = ..., snapshot_ids: _Optional[_Iterable[int]] = ..., tiers: _Optional[_Iterable[_Union[Tier, str]]] = ...) -> None: ...

class GetOnlineFeaturesResponse(_message.Message):
    __slots__ = ("row_count", "columns", "views", "registry_version", "degraded", "degraded_reason")
    ROW_COUNT_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    VIEWS_FIELD_NUMBER: _ClassVar[int]
    REGISTRY_VERSION_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_FIELD_NUMBER: _ClassVar[int]
    DEGRADED_REASON_FIELD_NUMBER: _ClassVar[int]
    row_count: int
    columns: _containers.RepeatedCompositeFieldContainer[FeatureColumn]
    views: _containers.RepeatedCompositeFieldContainer[ViewRows]
    registry_version: str
    degraded: bool
    degraded_reason: str
    def __init__(self, row_count: _Optional[int] = ..., columns: _Optional[_Iterable[_Union[FeatureColumn, _Mapping]]] = ..., views: _Optional[_Iterable[_Union[ViewRows, _Mapping]]] = ..., registry_version: _Optional[str] = ..., degraded: bool = ..., degraded_reason: _Optional[str] = ...) -> None: ...

class DiffFeaturesRequest(_message.Message):
    __slots__ = ("feature_service", "features", "entities", "to")
    FEATURE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    feature_service: str
    features: FeatureRefs
    entities: _containers.RepeatedCompositeFieldContainer[EntityColumn]
    to: AsOf
    def __init__(self, feature_service: _Optional[str] = ..., features: _Optional[_Union[FeatureRefs, _Mapping]] = ..., entities: _Optional[_Iterable[_Union[EntityColumn, _Mapping]]] = ..., to: _Optional[_Union[AsOf, _Mapping]] = ..., **kwargs) -> None: ...

class DiffFeaturesResponse(_message.Message):
    __slots__ = ("to", "changed")
    FROM_FIELD_NUMBER: _ClassVar[int]
    TO_FIELD_NUMBER: _ClassVar[int]
    CHANGED_FIELD_NUMBER: _ClassVar[int]
    to: GetOnlineFeaturesResponse
    changed: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, to: _Optional[_Union[GetOnlineFeaturesResponse, _Mapping]] = ..., changed: _Optional[_Iterable[str]] = ..., **kwargs) -> None: ...
