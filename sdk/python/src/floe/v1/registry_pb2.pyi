from floe.v1 import types_pb2 as _types_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from typing import ClassVar as _ClassVar, Iterable as _Iterable, Mapping as _Mapping, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class SpecLocation(_message.Message):
    __slots__ = ("file", "line")
    FILE_FIELD_NUMBER: _ClassVar[int]
    LINE_FIELD_NUMBER: _ClassVar[int]
    file: str
    line: int
    def __init__(self, file: _Optional[str] = ..., line: _Optional[int] = ...) -> None: ...

class JoinKey(_message.Message):
    __slots__ = ("name", "value_type")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value_type: _types_pb2.ValueType
    def __init__(self, name: _Optional[str] = ..., value_type: _Optional[_Union[_types_pb2.ValueType, str]] = ...) -> None: ...

class Entity(_message.Message):
    __slots__ = ("name", "description", "join_keys", "location")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    JOIN_KEYS_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    join_keys: _containers.RepeatedCompositeFieldContainer[JoinKey]
    location: SpecLocation
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., join_keys: _Optional[_Iterable[_Union[JoinKey, _Mapping]]] = ..., location: _Optional[_Union[SpecLocation, _Mapping]] = ...) -> None: ...

class Feature(_message.Message):
    __slots__ = ("name", "value_type", "dim", "description")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value_type: _types_pb2.ValueType
    dim: int
    description: str
    def __init__(self, name: _Optional[str] = ..., value_type: _Optional[_Union[_types_pb2.ValueType, str]] = ..., dim: _Optional[int] = ..., description: _Optional[str] = ...) -> None: ...

class FeatureView(_message.Message):
    __slots__ = ("name", "description", "entity", "source_table", "event_time_column", "ttl_seconds", "features", "location")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    SOURCE_TABLE_FIELD_NUMBER: _ClassVar[int]
    EVENT_TIME_COLUMN_FIELD_NUMBER: _ClassVar[int]
    TTL_SECONDS_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    entity: str
    source_table: str
    event_time_column: str
    ttl_seconds: int
    features: _containers.RepeatedCompositeFieldContainer[Feature]
    location: SpecLocation
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., entity: _Optional[str] = ..., source_table: _Optional[str] = ..., event_time_column: _Optional[str] = ..., ttl_seconds: _Optional[int] = ..., features: _Optional[_Iterable[_Union[Feature, _Mapping]]] = ..., location: _Optional[_Union[SpecLocation, _Mapping]] = ...) -> None: ...

class FeatureService(_message.Message):
    __slots__ = ("name", "description", "features", "location", "outputs", "fit")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    FEATURES_FIELD_NUMBER: _ClassVar[int]
    LOCATION_FIELD_NUMBER: _ClassVar[int]
    OUTPUTS_FIELD_NUMBER: _ClassVar[int]
    FIT_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    features: _containers.RepeatedScalarFieldContainer[str]
    location: SpecLocation
    outputs: _containers.RepeatedCompositeFieldContainer[ServiceOutput]
    fit: FitInfo
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., features: _Optional[_Iterable[str]] = ..., location: _Optional[_Union[SpecLocation, _Mapping]] = ..., outputs: _Optional[_Iterable[_Union[ServiceOutput, _Mapping]]] = ..., fit: _Optional[_Union[FitInfo, _Mapping]] = ...) -> None: ...

class FitInfo(_message.Message):
    __slots__ = ("lock_file", "fitted_at", "snapshots")
    class SnapshotsEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    LOCK_FILE_FIELD_NUMBER: _ClassVar[int]
    FITTED_AT_FIELD_NUMBER: _ClassVar[int]
    SNAPSHOTS_FIELD_NUMBER: _ClassVar[int]
    lock_file: str
    fitted_at: _timestamp_pb2.Timestamp
    snapshots: _containers.ScalarMap[str, int]
    def __init__(self, lock_file: _Optional[str] = ..., fitted_at: _Optional[_Union[_timestamp_pb2.Timestamp, _Mapping]] = ..., snapshots: _Optional[_Mapping[str, int]] = ...) -> None: ...

class ServiceOutput(_message.Message):
    __slots__ = ("name", "ref", "value_type", "dim", "transform", "fitted_steps")
    NAME_FIELD_NUMBER: _ClassVar[int]
    REF_FIELD_NUMBER: _ClassVar[int]
    VALUE_TYPE_FIELD_NUMBER: _ClassVar[int]
    DIM_FIELD_NUMBER: _ClassVar[int]
    TRANSFORM_FIELD_NUMBER: _ClassVar[int]
    FITTED_STEPS_FIELD_NUMBER: _ClassVar[int]
    name: str
    ref: str
    value_type: _types_pb2.ValueType
    dim: int
    transform: _containers.RepeatedScalarFieldContainer[str]
    fitted_steps: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, name: _Optional[str] = ..., ref: _Optional[str] = ..., value_type: _Optional[_Union[_types_pb2.ValueType, str]] = ..., dim: _Optional[int] = ..., transform: _Optional[_Iterable[str]] = ..., fitted_steps: _Optional[_Iterable[int]] = ...) -> None: ...

class GetRegistryRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class GetRegistryResponse(_message.Message):
    __slots__ = ("version", "entities", "feature_views", "feature_services")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SERVICES_FIELD_NUMBER: _ClassVar[int]
    version: str
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    feature_views: _containers.RepeatedCompositeFieldContainer[FeatureView]
    feature_services: _containers.RepeatedCompositeFieldContainer[FeatureService]
    def __init__(self, version: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ..., feature_views: _Optional[_Iterable[_Union[FeatureView, _Mapping]]] = ..., feature_services: _Optional[_Iterable[_Union[FeatureService, _Mapping]]] = ...) -> None: ...

class ListEntitiesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListEntitiesResponse(_message.Message):
    __slots__ = ("version", "entities")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTITIES_FIELD_NUMBER: _ClassVar[int]
    version: str
    entities: _containers.RepeatedCompositeFieldContainer[Entity]
    def __init__(self, version: _Optional[str] = ..., entities: _Optional[_Iterable[_Union[Entity, _Mapping]]] = ...) -> None: ...

class GetEntityRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetEntityResponse(_message.Message):
    __slots__ = ("version", "entity")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    ENTITY_FIELD_NUMBER: _ClassVar[int]
    version: str
    entity: Entity
    def __init__(self, version: _Optional[str] = ..., entity: _Optional[_Union[Entity, _Mapping]] = ...) -> None: ...

class ListFeatureViewsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFeatureViewsResponse(_message.Message):
    __slots__ = ("version", "feature_views")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEWS_FIELD_NUMBER: _ClassVar[int]
    version: str
    feature_views: _containers.RepeatedCompositeFieldContainer[FeatureView]
    def __init__(self, version: _Optional[str] = ..., feature_views: _Optional[_Iterable[_Union[FeatureView, _Mapping]]] = ...) -> None: ...

class GetFeatureViewRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetFeatureViewResponse(_message.Message):
    __slots__ = ("version", "feature_view")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_VIEW_FIELD_NUMBER: _ClassVar[int]
    version: str
    feature_view: FeatureView
    def __init__(self, version: _Optional[str] = ..., feature_view: _Optional[_Union[FeatureView, _Mapping]] = ...) -> None: ...

class ListFeatureServicesRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListFeatureServicesResponse(_message.Message):
    __slots__ = ("version", "feature_services")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SERVICES_FIELD_NUMBER: _ClassVar[int]
    version: str
    feature_services: _containers.RepeatedCompositeFieldContainer[FeatureService]
    def __init__(self, version: _Optional[str] = ..., feature_services: _Optional[_Iterable[_Union[FeatureService, _Mapping]]] = ...) -> None: ...

class GetFeatureServiceRequest(_message.Message):
    __slots__ = ("name",)
    NAME_FIELD_NUMBER: _ClassVar[int]
    name: str
    def __init__(self, name: _Optional[str] = ...) -> None: ...

class GetFeatureServiceResponse(_message.Message):
    __slots__ = ("version", "feature_service")
    VERSION_FIELD_NUMBER: _ClassVar[int]
    FEATURE_SERVICE_FIELD_NUMBER: _ClassVar[int]
    version: str
    feature_service: FeatureService
    def __init__(self, version: _Optional[str] = ..., feature_service: _Optional[_Union[FeatureService, _Mapping]] = ...) -> None: ...
