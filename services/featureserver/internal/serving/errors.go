package serving

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"

	"connectrpc.com/connect"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
)

// This file is the one place that decides RPC codes (and the JSON route's HTTP
// statuses). Handlers and the code under them return plain errors wrapping a
// sentinel (ErrInvalidRequest, errNotFound, errUnimplemented, or a store's
// documented one) and hand them to toConnect; no other file builds a
// connect.Error (errors_test.go checks that).

var (
	// errNotFound wraps a lookup of something the registry does not define, or
	// the JSON route's entity that no view knows.
	errNotFound = errors.New("not found")
	// errUnimplemented wraps a request this server is not built to answer, such
	// as an as_of read without an offline store.
	errUnimplemented = errors.New("not implemented")
	// ErrPublishRefused wraps a Publisher's refusal to publish because another
	// process publishes (it holds the materialization lease).
	ErrPublishRefused = errors.New("publishing refused")
	// ErrPublishAborted wraps a Publisher's run that lost the lease to another
	// process while it published.
	ErrPublishAborted = errors.New("publishing aborted")
)

// codes maps each sentinel to its RPC code, first match wins. An error matching
// none is INTERNAL.
var codes = []struct {
	sentinel error
	code     connect.Code
}{
	{ErrInvalidRequest, connect.CodeInvalidArgument},
	{errNotFound, connect.CodeNotFound},
	{errUnimplemented, connect.CodeUnimplemented},
	// Another process publishes (it holds the lease): writing next to it is
	// refused until it stops, which retrying does not change.
	{ErrPublishRefused, connect.CodeFailedPrecondition},
	// The lease went to another process while this one was publishing.
	{ErrPublishAborted, connect.CodeAborted},
	{context.DeadlineExceeded, connect.CodeDeadlineExceeded},
	{context.Canceled, connect.CodeCanceled},
	{online.ErrUnavailable, connect.CodeUnavailable},
	{offline.ErrUnavailable, connect.CodeUnavailable},
}

// toConnect maps an error from the read, registry, training or admin path to its
// RPC code. A *connect.Error passes through unchanged (one that a stream send or
// an interceptor returned).
func toConnect(err error) error {
	if err == nil {
		return nil
	}
	var ce *connect.Error
	if errors.As(err, &ce) {
		return ce
	}
	return connect.NewError(codeOf(err), err)
}

// codeOf returns the code of the first sentinel err wraps, INTERNAL if none.
func codeOf(err error) connect.Code {
	for _, c := range codes {
		if errors.Is(err, c.sentinel) {
			return c.code
		}
	}
	return connect.CodeInternal
}

// httpStatus is the JSON route's HTTP status for a code, as the Connect protocol
// maps them.
func httpStatus(code connect.Code) int {
	switch code {
	case connect.CodeInvalidArgument:
		return http.StatusBadRequest
	case connect.CodeNotFound:
		return http.StatusNotFound
	case connect.CodeUnavailable:
		return http.StatusServiceUnavailable
	case connect.CodeDeadlineExceeded:
		return http.StatusGatewayTimeout
	case connect.CodeUnimplemented:
		return http.StatusNotImplemented
	case connect.CodeFailedPrecondition:
		return http.StatusBadRequest
	case connect.CodeAborted:
		return http.StatusConflict
	default:
		return http.StatusInternalServerError
	}
}

// writeError answers the JSON route with err's code, in the error shape the
// Connect protocol uses for JSON, so clients parse one format.
func writeError(w http.ResponseWriter, err error) {
	ce := toConnect(err).(*connect.Error)
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(httpStatus(ce.Code()))
	_ = json.NewEncoder(w).Encode(map[string]string{"code": ce.Code().String(), "message": ce.Message()})
}
