package serving

import (
	"context"
	"errors"
	"fmt"
	"go/ast"
	"go/parser"
	"go/token"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"connectrpc.com/connect"

	"floe.dev/floe/services/featureserver/internal/offline"
	"floe.dev/floe/services/featureserver/internal/online"
)

// TestErrorCodes pins what every class of error becomes: a changed row here is a
// changed API.
func TestErrorCodes(t *testing.T) {
	wrap := func(err error) error { return fmt.Errorf("view v: %w", err) }
	cases := []struct {
		err  error
		code connect.Code
		http int
	}{
		{invalid("entities: empty"), connect.CodeInvalidArgument, http.StatusBadRequest},
		{wrap(fmt.Errorf("%w: feature view %q is not defined", errNotFound, "x")), connect.CodeNotFound, http.StatusNotFound},
		{wrap(fmt.Errorf("%w: as_of reads need the offline store", errUnimplemented)), connect.CodeUnimplemented, http.StatusNotImplemented},
		{wrap(fmt.Errorf("%w: h/1/ab publishes", ErrPublishRefused)), connect.CodeFailedPrecondition, http.StatusBadRequest},
		{wrap(fmt.Errorf("%w to h/1/ab", ErrPublishAborted)), connect.CodeAborted, http.StatusConflict},
		{wrap(context.DeadlineExceeded), connect.CodeDeadlineExceeded, http.StatusGatewayTimeout},
		{wrap(context.Canceled), connect.CodeCanceled, http.StatusInternalServerError},
		{wrap(online.ErrUnavailable), connect.CodeUnavailable, http.StatusServiceUnavailable},
		{wrap(offline.ErrUnavailable), connect.CodeUnavailable, http.StatusServiceUnavailable},
		// A request error caused by the store being down is still the caller's
		// problem first: the first sentinel in the table wins.
		{invalid("entity_table: %v", offline.ErrUnavailable), connect.CodeInvalidArgument, http.StatusBadRequest},
		{errors.New("disk on fire"), connect.CodeInternal, http.StatusInternalServerError},
		{wrap(connect.NewError(connect.CodeResourceExhausted, errors.New("send"))), connect.CodeResourceExhausted, http.StatusInternalServerError},
	}
	for _, tc := range cases {
		got := toConnect(tc.err)
		if connect.CodeOf(got) != tc.code {
			t.Errorf("%v: code %v, want %v", tc.err, connect.CodeOf(got), tc.code)
		}
		rec := httptest.NewRecorder()
		writeError(rec, tc.err)
		if rec.Code != tc.http || !strings.Contains(rec.Body.String(), `"code":"`+tc.code.String()+`"`) {
			t.Errorf("%v: JSON route answered %d %s, want %d with code %v", tc.err, rec.Code, rec.Body, tc.http, tc.code)
		}
	}
	if toConnect(nil) != nil {
		t.Error("toConnect(nil) is not nil")
	}
	// Every sentinel in the table is exercised above.
	for _, c := range codes {
		found := false
		for _, tc := range cases {
			found = found || errors.Is(tc.err, c.sentinel)
		}
		if !found {
			t.Errorf("no case pins sentinel %v (%v)", c.sentinel, c.code)
		}
	}
}

// TestOnlyErrorsGoDecidesCodes keeps errors.go the one place that decides codes:
// no other file of the package builds a connect.Error or names a code.
func TestOnlyErrorsGoDecidesCodes(t *testing.T) {
	files, err := filepath.Glob("*.go")
	if err != nil {
		t.Fatal(err)
	}
	fset := token.NewFileSet()
	checked := 0
	for _, name := range files {
		if name == "errors.go" || strings.HasSuffix(name, "_test.go") {
			continue
		}
		src, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		f, err := parser.ParseFile(fset, name, src, 0)
		if err != nil {
			t.Fatal(err)
		}
		checked++
		// The name the file gives connectrpc.com/connect (usually "connect").
		pkg := ""
		for _, imp := range f.Imports {
			if imp.Path.Value == `"connectrpc.com/connect"` {
				pkg = "connect"
				if imp.Name != nil {
					pkg = imp.Name.Name
				}
			}
		}
		if pkg == "" {
			continue
		}
		ast.Inspect(f, func(n ast.Node) bool {
			sel, ok := n.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			if id, ok := sel.X.(*ast.Ident); ok && id.Name == pkg &&
				(sel.Sel.Name == "NewError" || sel.Sel.Name == "NewWireError" || strings.HasPrefix(sel.Sel.Name, "Code")) {
				t.Errorf("%s: %s.%s: return an error wrapping a sentinel and map it in errors.go", fset.Position(sel.Pos()), pkg, sel.Sel.Name)
			}
			return true
		})
	}
	if checked < 5 {
		t.Fatalf("checked %d files; is the test running in the package directory?", checked)
	}
}
