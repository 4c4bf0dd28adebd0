from google.protobuf.internal import containers as _containers
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable
from typing import ClassVar as _ClassVar, Optional as _Optional

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
    def __init__(self, view: _Optional[str] = ..., snapshot_id: _Optional[int] = ..., rows_read: _Optional[int] = ..., rows_written: _Optional[int] = ..., done: _Optional[bool] = ..., up_to_date: _Optional[bool] = ...) -> None: ...
