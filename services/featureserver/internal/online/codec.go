package online

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"

	"floe.dev/floe/services/featureserver/internal/registry"
)

// The online value of one (view, entity) is a compact binary row:
//
//	byte      format version (1)
//	uint32    view schema hash, little endian
//	uvarint   Iceberg snapshot id the row was materialized from
//	varint    event time, microseconds since the epoch
//	bitmap    one bit per feature, set when the value is null, ceil(n/8) bytes
//	values    each non-null feature in spec order:
//	          int64, timestamp: varint; double: 8 bytes LE; bool: 1 byte;
//	          string: uvarint length + bytes; float_vector: dim × float32 LE
//
// Field names are not stored: the schema hash ties a row to the spec it was
// written under, and a row of another hash is treated as absent rather than misread.
// Varints keep small integers (counts, ids) to a byte or two; FACTS.md measured one
// blob per (view, entity) read by MGET to beat Redis hashes several times over.

const formatVersion = 1

// ErrCorrupt is returned when a stored row cannot be decoded.
var ErrCorrupt = errors.New("corrupt online row")

// RowHeader is the part of a stored row that describes where it came from.
type RowHeader struct {
	SchemaHash uint32
	SnapshotID int64
	// EventTime in microseconds since the epoch.
	EventTime int64
}

// Value is one feature value to encode. Exactly the field matching the feature's
// type is read; Null marks a missing value.
type Value struct {
	Null   bool
	Int    int64 // int64 and timestamp (microseconds)
	Float  float64
	Str    string
	Bool   bool
	Vector []float32
}

// RowEncoder encodes rows of one view, reusing its buffer between rows.
type RowEncoder struct {
	view *registry.FeatureView
	buf  []byte
}

// NewRowEncoder returns an encoder for rows of v.
func NewRowEncoder(v *registry.FeatureView) *RowEncoder {
	return &RowEncoder{view: v}
}

// Encode returns the encoding of one row. values has one entry per feature of the
// view, in spec order. The returned slice is freshly allocated and owned by the caller.
func (e *RowEncoder) Encode(snapshotID, eventTime int64, values []Value) ([]byte, error) {
	feats := e.view.Features
	if len(values) != len(feats) {
		return nil, fmt.Errorf("encode %s: %d values for %d features", e.view.Name, len(values), len(feats))
	}
	b := e.buf[:0]
	b = append(b, formatVersion)
	b = binary.LittleEndian.AppendUint32(b, e.view.SchemaHash)
	b = binary.AppendUvarint(b, uint64(snapshotID))
	b = binary.AppendVarint(b, eventTime)
	bitmapAt := len(b)
	for i := 0; i < (len(feats)+7)/8; i++ {
		b = append(b, 0)
	}
	for i, f := range feats {
		v := values[i]
		if v.Null {
			b[bitmapAt+i/8] |= 1 << (i % 8)
			continue
		}
		switch f.Type {
		case registry.TypeInt64, registry.TypeTimestamp:
			b = binary.AppendVarint(b, v.Int)
		case registry.TypeDouble:
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v.Float))
		case registry.TypeBool:
			if v.Bool {
				b = append(b, 1)
			} else {
				b = append(b, 0)
			}
		case registry.TypeString:
			b = binary.AppendUvarint(b, uint64(len(v.Str)))
			b = append(b, v.Str...)
		case registry.TypeFloatVector:
			if len(v.Vector) != f.Dim {
				return nil, fmt.Errorf("encode %s: feature %s has %d elements, spec says dim %d", e.view.Name, f.Name, len(v.Vector), f.Dim)
			}
			for _, x := range v.Vector {
				b = binary.LittleEndian.AppendUint32(b, math.Float32bits(x))
			}
		default:
			return nil, fmt.Errorf("encode %s: feature %s has unsupported type %s", e.view.Name, f.Name, f.Type)
		}
	}
	e.buf = b
	return append([]byte(nil), b...), nil
}

// DecodeHeader reads the header of a stored row and returns it with the offset of
// the null bitmap.
func DecodeHeader(b []byte) (RowHeader, int, error) {
	if len(b) < 5 || b[0] != formatVersion {
		return RowHeader{}, 0, ErrCorrupt
	}
	h := RowHeader{SchemaHash: binary.LittleEndian.Uint32(b[1:5])}
	off := 5
	snap, n := binary.Uvarint(b[off:])
	if n <= 0 {
		return RowHeader{}, 0, ErrCorrupt
	}
	off += n
	et, n := binary.Varint(b[off:])
	if n <= 0 {
		return RowHeader{}, 0, ErrCorrupt
	}
	off += n
	h.SnapshotID, h.EventTime = int64(snap), et
	return h, off, nil
}

// Sink receives decoded values. DecodeRow calls the method matching each feature's
// type with the feature's index in the view; str and vec alias the stored row and
// must be copied if retained beyond the call. Null values go to Null.
type Sink interface {
	Null(feature int)
	Int(feature int, v int64)
	Float(feature int, v float64)
	Bool(feature int, v bool)
	String(feature int, v []byte)
	Vector(feature int, v []byte) // dim × float32 little endian
}

// DecodeRow decodes the first limit values of a stored row written for view v into
// sink; a reader that needs only leading features stops early instead of walking the
// whole row. The caller has checked the header (DecodeHeader) and passes the bitmap
// offset it returned.
func DecodeRow(v *registry.FeatureView, b []byte, off, limit int, sink Sink) error {
	feats := v.Features
	bitmap := off
	off += (len(feats) + 7) / 8
	if off > len(b) {
		return ErrCorrupt
	}
	for i, f := range feats[:limit] {
		if b[bitmap+i/8]&(1<<(i%8)) != 0 {
			sink.Null(i)
			continue
		}
		switch f.Type {
		case registry.TypeInt64, registry.TypeTimestamp:
			x, n := binary.Varint(b[off:])
			if n <= 0 {
				return ErrCorrupt
			}
			off += n
			sink.Int(i, x)
		case registry.TypeDouble:
			if off+8 > len(b) {
				return ErrCorrupt
			}
			sink.Float(i, math.Float64frombits(binary.LittleEndian.Uint64(b[off:])))
			off += 8
		case registry.TypeBool:
			if off >= len(b) {
				return ErrCorrupt
			}
			sink.Bool(i, b[off] != 0)
			off++
		case registry.TypeString:
			l, n := binary.Uvarint(b[off:])
			if n <= 0 || uint64(len(b)-off-n) < l {
				return ErrCorrupt
			}
			off += n
			sink.String(i, b[off:off+int(l)])
			off += int(l)
		case registry.TypeFloatVector:
			size := f.Dim * 4
			if off+size > len(b) {
				return ErrCorrupt
			}
			sink.Vector(i, b[off:off+size])
			off += size
		default:
			return ErrCorrupt
		}
	}
	return nil
}
