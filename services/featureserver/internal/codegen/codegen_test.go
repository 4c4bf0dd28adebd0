package codegen

import (
	"bytes"
	"flag"
	"go/ast"
	"go/importer"
	"go/parser"
	"go/token"
	"go/types"
	"math"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"testing"

	"floe.dev/floe/services/featureserver/internal/registry"
	"floe.dev/floe/services/featureserver/internal/transform"
)

// -update rewrites the golden files under testdata/golden and the generated files
// of specs/examples checked in under sdk/.
var update = flag.Bool("update", false, "rewrite golden files and the generated SDK files of specs/examples")

const repoRoot = "../../../.."

// goGenerated is the marker Go tools use to recognise generated files; every
// generated file, whatever its language, carries the same first line.
var goGenerated = regexp.MustCompile(`^(//|#) Code generated .* DO NOT EDIT\.$`)

func sortedPaths(files map[string][]byte) []string {
	paths := make([]string, 0, len(files))
	for p := range files {
		paths = append(paths, p)
	}
	sort.Strings(paths)
	return paths
}

// TestGolden compares the output for testdata/specs/shop, a spec that exercises
// every value type and escaping case, with reviewed copies in testdata/golden.
func TestGolden(t *testing.T) {
	out, err := GenerateAll("testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	goldenRoot := filepath.Join("testdata", "golden")
	if *update {
		if err := os.RemoveAll(goldenRoot); err != nil {
			t.Fatal(err)
		}
	}
	want := map[string]bool{}
	for _, p := range sortedPaths(out) {
		golden := filepath.Join(goldenRoot, filepath.FromSlash(p)+".golden")
		want[golden] = true
		if *update {
			writeFile(t, golden, out[p])
			continue
		}
		got, err := os.ReadFile(golden)
		if err != nil {
			t.Errorf("%s: %v (run go test ./internal/codegen -update)", p, err)
			continue
		}
		if !bytes.Equal(got, out[p]) {
			t.Errorf("%s differs from %s (run go test ./internal/codegen -update and review the diff):\n%s", p, golden, firstDiff(got, out[p]))
		}
	}
	// A golden file nothing generates any more would hide a dropped output.
	err = filepath.WalkDir(goldenRoot, func(path string, d os.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		if !want[path] {
			t.Errorf("stale golden file %s", path)
		}
		return nil
	})
	if err != nil {
		t.Fatal(err)
	}
}

// TestExamplesUpToDate checks that the SDK files generated from specs/examples are
// checked in as the generator produces them now, so a spec edited without
// `make generate` fails here rather than in a user's build.
func TestExamplesUpToDate(t *testing.T) {
	out, err := GenerateAll(filepath.Join(repoRoot, "specs", "examples"))
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedPaths(out) {
		path := filepath.Join(repoRoot, filepath.FromSlash(p))
		if *update {
			writeFile(t, path, out[p])
			continue
		}
		got, err := os.ReadFile(path)
		if err != nil {
			t.Errorf("%s: %v (run make generate)", p, err)
			continue
		}
		if !bytes.Equal(got, out[p]) {
			t.Errorf("%s is stale (run make generate):\n%s", p, firstDiff(got, out[p]))
		}
	}
	for _, want := range []string{
		"sdk/python/src/floe/features/pricing.py",
		"sdk/python/src/floe/features/__init__.py",
		"sdk/ts/src/features/pricing.ts",
		"sdk/ts/src/features/index.ts",
		"sdk/go/features/pricing/features.go",
	} {
		if _, ok := out[want]; !ok {
			t.Errorf("GenerateAll did not produce %s; got %v", want, sortedPaths(out))
		}
	}
}

func TestPricingContract(t *testing.T) {
	reg, err := registry.LoadDir(filepath.Join(repoRoot, "specs", "examples", "pricing"))
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(reg, "pricing")
	if err != nil {
		t.Fatal(err)
	}
	py := string(out["sdk/python/src/floe/features/pricing.py"])
	for _, want := range []string{
		"class PricingAgentV1:",
		`    NAME: Final = "pricing_agent_v1"`,
		"    FEATURES: Final = (\n        \"user_profile:age\",\n        \"user_profile:city\",\n        \"user_behavior:sessions_7d\",",
		`        "user_profile:city": object,`,
		`        "user_behavior:is_premium": np.bool_,`,
		`        "user_behavior:avg_order_value_30d": np.float64,`,
		"    ENTITY_KEYS: Final = {\n        \"user_id\": np.int64,\n    }",
	} {
		if !strings.Contains(py, want) {
			t.Errorf("pricing.py lacks %q:\n%s", want, py)
		}
	}
	// pricing_agent_v2 transforms features: its class carries the chains with their
	// parameters and builds the Keras preprocessing from them; v1 has neither.
	for _, want := range []string{
		"    TRANSFORMS: Final = [\n        {\n            \"name\": \"age_bucket\",\n            \"input\": \"user_profile:age\",\n            \"type\": \"int64\",",
		`                {"bucketize": {"boundaries": [18.0, 25.0, 35.0, 45.0, 55.0, 65.0]}},`,
		`                {"standardize": {"mean": 65.0, "std": 60.0}},`,
		`            "transform": [{"cast": {"to": "double"}}],`,
		"    def preprocessing(cls) -> \"floe.keras.Preprocessing\":",
		"        return Preprocessing(cls.TRANSFORMS, name=cls.NAME)",
	} {
		if !strings.Contains(py, want) {
			t.Errorf("pricing.py lacks %q:\n%s", want, py)
		}
	}
	if v1 := py[strings.Index(py, "class PricingAgentV1:"):strings.Index(py, "class PricingAgentV2:")]; strings.Contains(v1, "TRANSFORMS") || strings.Contains(v1, "preprocessing") {
		t.Errorf("PricingAgentV1 serves raw features but has a preprocessing:\n%s", v1)
	}
	ts := string(out["sdk/ts/src/features/pricing.ts"])
	for _, want := range []string{
		"export interface UserBehavior {",
		"  embedding: Float32Array;",
		"  last_updated: Date;",
		"export const pricingAgentV1 = {",
		"export interface PricingAgentV1Values {\n  \"user_profile:age\": bigint;\n  \"user_profile:city\": string;",
	} {
		if !strings.Contains(ts, want) {
			t.Errorf("pricing.ts lacks %q:\n%s", want, ts)
		}
	}
	gosrc := string(out["sdk/go/features/pricing/features.go"])
	for _, want := range []string{
		"package pricing\n",
		`PricingAgentV1 = "pricing_agent_v1"`,
		`UserBehaviorEmbedding = "user_behavior:embedding"`,
		"var PricingAgentV1Features = []string{\n\tUserProfileAge,\n\tUserProfileCity,\n\tUserBehaviorSessions7d,",
	} {
		if !strings.Contains(gosrc, want) {
			t.Errorf("features.go lacks %q:\n%s", want, gosrc)
		}
	}
}

func TestHeaderAndDeterminism(t *testing.T) {
	first, err := GenerateAll("testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		again, err := GenerateAll("testdata/specs")
		if err != nil {
			t.Fatal(err)
		}
		for p, v := range first {
			if !bytes.Equal(v, again[p]) {
				t.Fatalf("%s differs between runs", p)
			}
		}
	}
	for p, v := range first {
		line, _, _ := strings.Cut(string(v), "\n")
		if !goGenerated.MatchString(line) {
			t.Errorf("%s: first line %q is not a generated-code marker", p, line)
		}
		if !strings.Contains(line, " from specs/") && !strings.HasSuffix(line, "from specs; DO NOT EDIT.") {
			t.Errorf("%s: header %q does not name the specs", p, line)
		}
	}
}

// TestGoTypeChecks type-checks every generated Go file, which go/format alone
// (syntax only) does not.
func TestGoTypeChecks(t *testing.T) {
	out, err := GenerateAll("testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range sortedPaths(out) {
		if !strings.HasSuffix(p, ".go") {
			continue
		}
		fset := token.NewFileSet()
		f, err := parser.ParseFile(fset, p, out[p], parser.ParseComments)
		if err != nil {
			t.Fatalf("%s: %v", p, err)
		}
		conf := types.Config{Importer: importer.Default()}
		if _, err := conf.Check(f.Name.Name, fset, []*ast.File{f}, nil); err != nil {
			t.Errorf("%s: %v", p, err)
		}
		// Every exported identifier must be documented.
		for _, decl := range f.Decls {
			gd, ok := decl.(*ast.GenDecl)
			if !ok {
				continue
			}
			for _, spec := range gd.Specs {
				vs := spec.(*ast.ValueSpec)
				if vs.Doc == nil && (gd.Doc == nil || len(gd.Specs) > 1) {
					t.Errorf("%s: %s is not documented", p, vs.Names[0].Name)
				}
			}
		}
	}
}

// TestPythonCompiles byte-compiles the generated Python with the repository's venv
// (or python3 on PATH), the check `python -m py_compile` a user would run.
func TestPythonCompiles(t *testing.T) {
	python := filepath.Join(repoRoot, ".venv", "bin", "python")
	if _, err := os.Stat(python); err != nil {
		if python, err = exec.LookPath("python3"); err != nil {
			t.Skip("no Python interpreter")
		}
	}
	out, err := GenerateAll("testdata/specs")
	if err != nil {
		t.Fatal(err)
	}
	dir := t.TempDir()
	args := []string{"-m", "py_compile"}
	for _, p := range sortedPaths(out) {
		if strings.HasSuffix(p, ".py") {
			path := filepath.Join(dir, filepath.FromSlash(p))
			writeFile(t, path, out[p])
			args = append(args, path)
		}
	}
	cmd := exec.Command(python, args...)
	cmd.Env = append(os.Environ(), "PYTHONPYCACHEPREFIX="+filepath.Join(dir, "pycache"))
	if msg, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("py_compile: %v\n%s", err, msg)
	}
	// The generator writes black's style by hand; check it where black is installed
	// (the repository's venv has it: the test extra of sdk/python).
	black := filepath.Join(repoRoot, ".venv", "bin", "black")
	if _, err := os.Stat(black); err != nil {
		black, _ = exec.LookPath("black")
	}
	if black != "" {
		if msg, err := exec.Command(black, "--check", "--diff", "--quiet", dir).CombinedOutput(); err != nil {
			t.Errorf("generated Python is not black-formatted: %v\n%s", err, msg)
		}
	}
}

func compile(t *testing.T, yaml string) *registry.Registry {
	t.Helper()
	reg, err := registry.Compile(map[string][]byte{"/repo/specs/examples/x/x.yaml": []byte(yaml)})
	if err != nil {
		t.Fatal(err)
	}
	return reg
}

const baseSpec = `
entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
sources:
  - {name: t1, table: ns.t1}
  - {name: t2, table: ns.t2}
`

func TestRejects(t *testing.T) {
	cases := []struct {
		name    string
		project string
		yaml    string
		want    string
	}{
		{"project not an identifier", "my-project", baseSpec, `project name "my-project"`},
		{"project is a keyword", "import", baseSpec, "keyword"},
		{"Go constant clash", "x", baseSpec + `
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b_c, type: int64}]}
  - {name: a_b, entity: user, source: t2, features: [{name: c, type: int64}]}
`, `Go identifier "ABC"`},
		{"Python keyword class", "x", baseSpec + `
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b, type: int64}]}
feature_services:
  - {name: none, features: [a:b]}
`, `Python identifier "None"`},
		{"TypeScript reserved const", "x", baseSpec + `
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b, type: int64}]}
feature_services:
  - {name: delete, features: [a:b]}
`, `TypeScript identifier "delete"`},
		{"service names clash", "x", baseSpec + `
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b, type: int64}]}
feature_services:
  - {name: m_v1, features: [a:b]}
  - {name: m__v1, features: [a:b]}
`, `"MV1"`},
		{"join key typed twice", "x", `
entities:
  - {name: user, join_keys: [{name: id, type: int64}]}
  - {name: card, join_keys: [{name: id, type: string}]}
sources:
  - {name: t1, table: ns.t1}
  - {name: t2, table: ns.t2}
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b, type: int64}]}
  - {name: c, entity: card, source: t2, features: [{name: d, type: int64}]}
feature_services:
  - {name: s, features: [a:b, c:d]}
`, `join key "id" both as int64 and as string`},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			_, err := Generate(compile(t, c.yaml), c.project)
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got error %v, want one containing %q", err, c.want)
			}
		})
	}
}

func TestSharedJoinKeyIsOneColumn(t *testing.T) {
	reg := compile(t, `
entities:
  - {name: user, join_keys: [{name: user_id, type: int64}]}
  - {name: buyer, join_keys: [{name: user_id, type: int64}]}
sources:
  - {name: t1, table: ns.t1}
  - {name: t2, table: ns.t2}
feature_views:
  - {name: a, entity: user, source: t1, features: [{name: b, type: int64}]}
  - {name: c, entity: buyer, source: t2, features: [{name: d, type: double}]}
feature_services:
  - {name: s, features: [c:d, a:b]}
`)
	out, err := Generate(reg, "x")
	if err != nil {
		t.Fatal(err)
	}
	py := string(out["sdk/python/src/floe/features/x.py"])
	if !strings.Contains(py, "    ENTITY_KEYS: Final = {\n        \"user_id\": np.int64,\n    }") {
		t.Fatalf("want one user_id key:\n%s", py)
	}
	if !strings.Contains(py, "# Code generated by floe gen from specs/examples/x/x.yaml; DO NOT EDIT.\n") {
		t.Fatalf("header should name the spec relative to specs/:\n%s", py)
	}
}

// TestFittedParametersAreGenerated checks that TRANSFORMS carries the parameters a
// lock file supplies for steps marked fitted: true, not the spec's placeholders.
func TestFittedParametersAreGenerated(t *testing.T) {
	spec := baseSpec + `
feature_views:
  - {name: v, entity: user, source: t1, features: [{name: x, type: double}, {name: city, type: string}]}
feature_services:
  - name: s
    features:
      - ref: v:x
        name: x_z
        transform: [{clip: {min: -100, max: 100}}, {standardize: {fitted: true}}]
      - ref: v:city
        transform: [{lookup: {fitted: true, oov_buckets: 2}}, {one_hot: {depth: 5}}]
`
	lock := `version: 1
spec_hash: "0000"
fitted_at: "2026-11-21T10:00:00Z"
snapshots: {ns.t1: 42}
services:
  s:
    x_z:
      - standardize: {mean: 10.5, std: 4}
    "v:city":
      - lookup: {vocabulary: [a, b, c], oov_buckets: 1}
`
	hash, err := registry.LockHashOf(map[string][]byte{"/repo/specs/examples/x/x.yaml": []byte(spec)}, "/repo/specs/examples/x/x.yaml")
	if err != nil {
		t.Fatal(err)
	}
	reg, err := registry.Compile(map[string][]byte{
		"/repo/specs/examples/x/x.yaml":      []byte(spec),
		"/repo/specs/examples/x/x.lock.yaml": []byte(strings.Replace(lock, `spec_hash: "0000"`, "spec_hash: "+hash, 1)),
	})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(reg, "x")
	if err != nil {
		t.Fatal(err)
	}
	py := string(out["sdk/python/src/floe/features/x.py"])
	for _, want := range []string{
		`{"clip": {"min": -100.0, "max": 100.0}},`,
		`{"standardize": {"mean": 10.5, "std": 4.0}},`,
		// oov_buckets is the spec's choice; the vocabulary comes from the lock.
		`{"lookup": {"vocabulary": ["a", "b", "c"], "oov_buckets": 2}}`,
		`{"one_hot": {"depth": 5}}`,
		"    def preprocessing(cls)",
	} {
		if !strings.Contains(py, want) {
			t.Errorf("x.py lacks %q:\n%s", want, py)
		}
	}
	if strings.Contains(py, "fitted") {
		t.Errorf("x.py mentions fitted steps instead of their parameters:\n%s", py)
	}
}

// TestEveryStepIsGenerated renders a step of every op of the transform table into
// TRANSFORMS, each parameter as a Python literal of its kind, in the op's order.
func TestEveryStepIsGenerated(t *testing.T) {
	spec := baseSpec + `
feature_views:
  - {name: v, entity: user, source: t1, features: [{name: x, type: double}, {name: n, type: int64}, {name: city, type: string}]}
feature_services:
  - name: s
    features:
      - {ref: v:x, name: a, transform: [abs, {abs: {}}, log1p, {min_max: {min: 0, max: 2}}, {bucketize: {boundaries: [0.5, 1]}}]}
      - {ref: v:n, name: b, transform: [{fill_null: {value: 3}}, {cast: {to: double}}, {standardize: {mean: 1, std: 2}}]}
      - {ref: v:city, name: c, transform: [{fill_null: {value: "?"}}, {hash: {bins: 4, function: farmhash_fingerprint64}}, {one_hot: {depth: 4}}]}
  - name: s2
    features:
      - {ref: v:city, name: d, transform: [{lookup: {vocabulary: [x, "y"]}}]}
      - {ref: v:x, name: e, transform: [{clip: {min: -1, max: 1}}]}
`
	reg, err := registry.Compile(map[string][]byte{"/repo/specs/examples/x/x.yaml": []byte(spec)})
	if err != nil {
		t.Fatal(err)
	}
	out, err := Generate(reg, "x")
	if err != nil {
		t.Fatal(err)
	}
	py := string(out["sdk/python/src/floe/features/x.py"])
	for _, want := range []string{
		`{"abs": {}},`,
		`{"log1p": {}},`,
		`{"min_max": {"min": 0.0, "max": 2.0}},`,
		`{"bucketize": {"boundaries": [0.5, 1.0]}},`,
		`{"fill_null": {"value": 3}},`,
		`{"cast": {"to": "double"}},`,
		`{"standardize": {"mean": 1.0, "std": 2.0}},`,
		`{"fill_null": {"value": "?"}},`,
		`{"hash": {"bins": 4, "function": "farmhash_fingerprint64"}},`,
		`{"one_hot": {"depth": 4}},`,
		`{"lookup": {"vocabulary": ["x", "y"], "oov_buckets": 1}}`,
		`{"clip": {"min": -1.0, "max": 1.0}}`,
	} {
		if !strings.Contains(py, want) {
			t.Errorf("x.py lacks %q:\n%s", want, py)
		}
	}
	for _, op := range transform.Ops() {
		if !strings.Contains(py, `{"`+op.Name()+`": {`) {
			t.Errorf("no %s step generated: extend this test's spec with the new op", op.Name())
		}
	}
}

func TestSpecPath(t *testing.T) {
	for in, want := range map[string]string{
		"/home/me/floe/specs/examples/pricing/pricing.yaml": "specs/examples/pricing/pricing.yaml",
		"../../../../specs/examples/pricing/pricing.yaml":   "specs/examples/pricing/pricing.yaml",
		"specs/examples/fraud/fraud.yaml":                   "specs/examples/fraud/fraud.yaml",
		"/srv/specs/x/specs/examples/a.yaml":                "specs/examples/a.yaml",
		"/tmp/elsewhere/a.yaml":                             "a.yaml",
		"../../specs":                                       "specs",
	} {
		if got := specPath(in); got != want {
			t.Errorf("specPath(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestPyFloat checks float literals against Python's repr as black writes it, and
// that each parses back to the same float64.
func TestPyFloat(t *testing.T) {
	for in, want := range map[float64]string{
		0:                      "0.0",
		math.Copysign(0, -1):   "-0.0",
		18:                     "18.0",
		-2.5:                   "-2.5",
		0.1:                    "0.1",
		1e-4:                   "0.0001",
		1e-5:                   "1e-05",
		1e-9:                   "1e-09",
		1.5e-7:                 "1.5e-07",
		1e15:                   "1000000000000000.0",
		1e16:                   "1e16",
		123456789012345680:     "1.2345678901234568e17",
		math.MaxFloat64:        "1.7976931348623157e308",
		5e-324:                 "5e-324",
		0.30000000000000004:    "0.30000000000000004",
		math.Inf(1):            `float("inf")`,
		math.Inf(-1):           `-float("inf")`,
		9007199254740993:       "9007199254740992.0",
		-9223372036854775808.0: "-9.223372036854776e18",
	} {
		got := pyFloat(in)
		if got != want {
			t.Errorf("pyFloat(%v) = %s, want %s", in, got, want)
		}
		if f, err := strconv.ParseFloat(got, 64); err == nil && f != in {
			t.Errorf("pyFloat(%v) = %s parses back as %v", in, got, f)
		}
	}
	if got := pyFloat(math.NaN()); got != `float("nan")` {
		t.Errorf("pyFloat(NaN) = %s", got)
	}
}

// TestPyStr checks string literals are those black keeps: double quotes unless the
// string holds more double than single quotes.
func TestPyStr(t *testing.T) {
	for in, want := range map[string]string{
		"Berlin":     `"Berlin"`,
		"":           `""`,
		`say "hi"`:   `'say "hi"'`,
		"it's":       `"it's"`,
		`"it's"`:     `'"it\'s"'`,
		`back\slash`: `"back\\slash"`,
		"tab\there":  `"tab\x09here"`,
		"東京":         `"東京"`,
	} {
		if got := pyStr(in); got != want {
			t.Errorf("pyStr(%q) = %s, want %s", in, got, want)
		}
	}
}

func TestCamel(t *testing.T) {
	for in, want := range map[string]string{
		"pricing_agent_v1": "PricingAgentV1",
		"sessions_7d":      "Sessions7d",
		"a":                "A",
	} {
		if got := camel(in); got != want {
			t.Errorf("camel(%q) = %q, want %q", in, got, want)
		}
	}
	if got := lowerCamel("pricing_agent_v1"); got != "pricingAgentV1" {
		t.Errorf("lowerCamel = %q", got)
	}
}

func writeFile(t *testing.T, path string, data []byte) {
	t.Helper()
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o644); err != nil {
		t.Fatal(err)
	}
}

// firstDiff shows the first differing line, enough to see what changed.
func firstDiff(got, want []byte) string {
	g := strings.Split(string(got), "\n")
	w := strings.Split(string(want), "\n")
	for i := 0; i < len(g) || i < len(w); i++ {
		var gl, wl string
		if i < len(g) {
			gl = g[i]
		}
		if i < len(w) {
			wl = w[i]
		}
		if gl != wl {
			return "line " + strconv.Itoa(i+1) + ":\n  have: " + gl + "\n  want: " + wl
		}
	}
	return "(same lines, different bytes)"
}
