package main

import (
	"context"
	"fmt"
	"net/http"
	"strconv"
	"time"

	"connectrpc.com/connect"
	"github.com/redis/go-redis/v9"

	floev1 "floe.dev/floe/sdk/go/gen/floe/v1"
	"floe.dev/floe/sdk/go/gen/floe/v1/floev1connect"
	"floe.dev/floe/services/featureserver/internal/online"
)

// This file holds the three ways the bench reads features (Connect, gRPC, and
// go-redis directly as the baseline) and the checks every answer must pass, so a
// server that answers errors or empty columns cannot produce fast numbers.

// Protocol names.
const (
	protoConnect = "connect"
	protoGRPC    = "grpc"
	protoRaw     = "raw-redis"
)

// callResult is what one read returned, for the pass's sanity totals.
type callResult struct {
	// present counts values with status PRESENT (for raw reads: keys found);
	// total counts all value slots.
	present, total int
}

// caller performs one read of ids and checks the answer. A caller is used by one
// goroutine at a time; it may keep scratch buffers between calls.
type caller func(ctx context.Context, ids []int64) (callResult, error)

// callerFactory makes one caller per worker.
type callerFactory func() caller

// benchClient is one way of reading features: its protocol name and how it makes
// callers for a feature service.
type benchClient struct {
	name    string
	callers func(benchService) callerFactory
}

// newConnectClient returns a Serving client speaking the Connect protocol with
// binary protobuf over HTTP/1.1, with enough idle connections for every worker.
func newConnectClient(baseURL string, workers int, gzip bool) (floev1connect.ServingServiceClient, *http.Transport) {
	protocols := new(http.Protocols)
	protocols.SetHTTP1(true)
	tr := &http.Transport{
		Protocols:           protocols,
		MaxIdleConns:        workers * 2,
		MaxIdleConnsPerHost: workers * 2,
		IdleConnTimeout:     time.Minute,
		// connect-go negotiates compression itself; without this the transport would
		// add its own Accept-Encoding: gzip whenever connect-go does not.
		DisableCompression: true,
	}
	return floev1connect.NewServingServiceClient(&http.Client{Transport: tr}, baseURL, clientOptions(gzip)...), tr
}

// newGRPCClient returns a Serving client speaking gRPC over cleartext HTTP/2 (h2c):
// one connection multiplexing every worker's streams, as gRPC clients do.
func newGRPCClient(baseURL string, gzip bool) (floev1connect.ServingServiceClient, *http.Transport) {
	protocols := new(http.Protocols)
	protocols.SetUnencryptedHTTP2(true)
	tr := &http.Transport{Protocols: protocols, IdleConnTimeout: time.Minute, DisableCompression: true}
	opts := append(clientOptions(gzip), connect.WithGRPC())
	return floev1connect.NewServingServiceClient(&http.Client{Transport: tr}, baseURL, opts...), tr
}

// clientOptions returns the connect-go client options. connect-go clients accept
// gzipped responses by default; with gzip false the bench removes gzip from the
// accepted encodings, so the server answers uncompressed.
func clientOptions(gzip bool) []connect.ClientOption {
	if gzip {
		return nil
	}
	return []connect.ClientOption{connect.WithAcceptCompression("gzip", nil, nil)}
}

// servingCaller returns a factory of callers reading svc through client.
func servingCaller(client floev1connect.ServingServiceClient, svc benchService) callerFactory {
	return func() caller {
		ints := &floev1.Int64List{}
		req := &floev1.GetOnlineFeaturesRequest{
			Selector: &floev1.GetOnlineFeaturesRequest_FeatureService{FeatureService: svc.name},
			Entities: []*floev1.EntityColumn{{
				JoinKey: entityKey,
				Values:  &floev1.EntityColumn_Int64Values{Int64Values: ints},
			}},
		}
		return func(ctx context.Context, ids []int64) (callResult, error) {
			ints.Values = ids
			resp, err := client.GetOnlineFeatures(ctx, connect.NewRequest(req))
			if err != nil {
				return callResult{}, err
			}
			return checkResponse(resp.Msg, svc, len(ids))
		}
	}
}

// checkResponse verifies the shape of an answer (row count, columns in service
// order, one value and one status per row in every column, one view entry per
// view) and that at least half of its values are PRESENT.
func checkResponse(m *floev1.GetOnlineFeaturesResponse, svc benchService, n int) (callResult, error) {
	if got := int(m.GetRowCount()); got != n {
		return callResult{}, fmt.Errorf("row_count %d, want %d", got, n)
	}
	cols := m.GetColumns()
	if len(cols) != len(svc.refs) {
		return callResult{}, fmt.Errorf("%d columns, want %d", len(cols), len(svc.refs))
	}
	if len(m.GetViews()) != len(svc.views) {
		return callResult{}, fmt.Errorf("%d view entries, want %d", len(m.GetViews()), len(svc.views))
	}
	var r callResult
	for i, c := range cols {
		if c.GetName() != svc.refs[i] {
			return callResult{}, fmt.Errorf("column %d is %q, want %q", i, c.GetName(), svc.refs[i])
		}
		if l := columnLen(c); l != n {
			return callResult{}, fmt.Errorf("column %s has %d values, want %d", c.GetName(), l, n)
		}
		st := c.GetStatuses()
		if len(st) != n {
			return callResult{}, fmt.Errorf("column %s has %d statuses, want %d", c.GetName(), len(st), n)
		}
		for _, s := range st {
			if s == floev1.FeatureStatus_FEATURE_STATUS_PRESENT {
				r.present++
			}
		}
		r.total += n
	}
	if r.present*2 < r.total {
		return r, fmt.Errorf("only %d of %d values PRESENT", r.present, r.total)
	}
	return r, nil
}

// columnLen returns the number of values in a column's typed list, -1 if none is set.
func columnLen(c *floev1.FeatureColumn) int {
	switch v := c.GetValues().(type) {
	case *floev1.FeatureColumn_DoubleValues:
		return len(v.DoubleValues.GetValues())
	case *floev1.FeatureColumn_Int64Values:
		return len(v.Int64Values.GetValues())
	case *floev1.FeatureColumn_BoolValues:
		return len(v.BoolValues.GetValues())
	case *floev1.FeatureColumn_StringValues:
		return len(v.StringValues.GetValues())
	case *floev1.FeatureColumn_TimestampValues:
		return len(v.TimestampValues.GetUnixMicros())
	case *floev1.FeatureColumn_FloatVectorValues:
		if d := int(v.FloatVectorValues.GetDim()); d > 0 {
			return len(v.FloatVectorValues.GetValues()) / d
		}
	}
	return -1
}

// rawCaller returns a factory of callers that fetch, with one MGET, exactly the
// keys the server fetches for svc: online.Key(view, id) for each view of the
// service, then each entity, in the server's order. It is the floor Floe's read
// path is measured against: the same Redis work with no decoding or RPC.
func rawCaller(client *redis.Client, svc benchService) callerFactory {
	return func() caller {
		var keys []string
		return func(ctx context.Context, ids []int64) (callResult, error) {
			keys = keys[:0]
			for _, v := range svc.views {
				for _, id := range ids {
					keys = append(keys, online.Key(v, strconv.FormatInt(id, 10)))
				}
			}
			vals, err := client.MGet(ctx, keys...).Result()
			if err != nil {
				return callResult{}, fmt.Errorf("MGET of %d keys: %w", len(keys), err)
			}
			if len(vals) != len(keys) {
				return callResult{}, fmt.Errorf("MGET of %d keys answered %d values", len(keys), len(vals))
			}
			r := callResult{total: len(vals)}
			for _, v := range vals {
				if v != nil {
					r.present++
				}
			}
			if r.present*2 < r.total {
				return r, fmt.Errorf("only %d of %d keys found", r.present, r.total)
			}
			return r, nil
		}
	}
}
