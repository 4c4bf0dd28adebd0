package offline

import (
	"bufio"
	"encoding/csv"
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"time"
)

// ExampleFile is one generated CSV file and the feature view it is for.
type ExampleFile struct {
	// View is the feature view the file's columns follow.
	View string
	// Path is where the file was written.
	Path string
}

// ExampleProjects lists the projects WriteExampleData knows, matching
// specs/examples/<project>.
var ExampleProjects = []string{"fraud", "pricing"}

// WriteExampleData writes deterministic CSV files for the example project
// ("pricing" or "fraud") into dir, one per feature view, for `floe example-data`
// and `make demo`. Entities are numbered 1..rows; about a third of them get two or
// three rows with different event times so "latest value per entity" is visible.
// Event times fall in the six hours before now, inside every example view's TTL,
// and values are in realistic ranges with a few nulls. The same arguments always
// produce the same bytes.
func WriteExampleData(dir string, project string, now time.Time, rows int) ([]ExampleFile, error) {
	if rows <= 0 {
		return nil, fmt.Errorf("example data: rows must be positive, got %d", rows)
	}
	var gens []exampleView
	switch project {
	case "pricing":
		gens = []exampleView{
			{"user_profile", userProfileHeader, userProfileRow},
			{"user_behavior", userBehaviorHeader, userBehaviorRow},
		}
	case "fraud":
		gens = []exampleView{
			{"card_activity", cardActivityHeader, cardActivityRow},
			{"merchant_risk", merchantRiskHeader, merchantRiskRow},
		}
	default:
		return nil, fmt.Errorf("example data: unknown project %q (known: %v)", project, ExampleProjects)
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("example data: %w", err)
	}
	now = now.UTC().Truncate(time.Second)
	var files []ExampleFile
	for _, g := range gens {
		path := filepath.Join(dir, g.view+".csv")
		// A seed per view keeps each file stable even if another view's generator
		// changes.
		h := fnv.New64a()
		h.Write([]byte(project + "/" + g.view))
		rng := rand.New(rand.NewPCG(h.Sum64(), 0x9E3779B97F4A7C15))
		if err := writeExampleCSV(path, g, rng, now, rows); err != nil {
			return nil, fmt.Errorf("example data: %w", err)
		}
		files = append(files, ExampleFile{View: g.view, Path: path})
	}
	return files, nil
}

type exampleView struct {
	view   string
	header []string
	row    func(rng *rand.Rand, id int, eventTime, now time.Time) []string
}

func writeExampleCSV(path string, g exampleView, rng *rand.Rand, now time.Time, rows int) error {
	f, err := os.Create(path)
	if err != nil {
		return err
	}
	bw := bufio.NewWriterSize(f, 1<<20)
	w := csv.NewWriter(bw)
	if err := w.Write(g.header); err != nil {
		_ = f.Close()
		return err
	}
	for id := 1; id <= rows; id++ {
		// 1 row for two thirds of entities, 2 or 3 for the rest, at distinct times.
		n := 1
		if r := rng.IntN(6); r >= 4 {
			n = r - 2
		}
		offsets := make([]int, n)
		for j := range offsets {
			offsets[j] = 60 + rng.IntN(6*3600-60)
		}
		slices.Sort(offsets)
		offsets = slices.Compact(offsets)
		for _, off := range slices.Backward(offsets) {
			if err := w.Write(g.row(rng, id, now.Add(-time.Duration(off)*time.Second), now)); err != nil {
				_ = f.Close()
				return err
			}
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		_ = f.Close()
		return err
	}
	if err := bw.Flush(); err != nil {
		_ = f.Close()
		return err
	}
	return f.Close()
}

// maybeNull returns "" (a null cell) about once in 50 calls.
func maybeNull(rng *rand.Rand, s string) string {
	if rng.IntN(50) == 0 {
		return ""
	}
	return s
}

func ts(t time.Time) string { return t.UTC().Format(time.RFC3339) }

func fixed(f float64, prec int) string { return strconv.FormatFloat(f, 'f', prec, 64) }

var cities = []string{"Berlin", "Paris", "Madrid", "Rome", "Amsterdam", "Lisbon", "Vienna", "Warsaw", "Prague", "Dublin", "Stockholm", "Oslo"}

var userProfileHeader = []string{"user_id", "event_time", "age", "city", "last_updated"}

func userProfileRow(rng *rand.Rand, id int, et, _ time.Time) []string {
	// last_updated precedes the event time: the profile was edited, then exported.
	edited := et.Add(-time.Duration(rng.IntN(365*24)) * time.Hour)
	return []string{
		strconv.Itoa(id),
		ts(et),
		maybeNull(rng, strconv.Itoa(18+rng.IntN(63))),
		maybeNull(rng, cities[rng.IntN(len(cities))]),
		maybeNull(rng, edited.Format("2006-01-02 15:04:05")),
	}
}

var userBehaviorHeader = []string{"user_id", "event_time", "sessions_7d", "purchases_30d", "avg_order_value_30d", "cart_abandon_rate_7d", "price_sensitivity", "is_premium", "embedding"}

func userBehaviorRow(rng *rand.Rand, id int, et, _ time.Time) []string {
	sessions := rng.IntN(40)
	purchases := rng.IntN(min(sessions, 15) + 1)
	emb := make([]float64, 4)
	for i := range emb {
		emb[i] = rng.Float64()*2 - 1
	}
	return []string{
		strconv.Itoa(id),
		ts(et),
		strconv.Itoa(sessions),
		maybeNull(rng, strconv.Itoa(purchases)),
		maybeNull(rng, fixed(5+rng.ExpFloat64()*60, 2)),
		maybeNull(rng, fixed(rng.Float64()*0.9, 3)),
		fixed(rng.Float64(), 3),
		strconv.FormatBool(rng.IntN(5) == 0),
		maybeNull(rng, fmt.Sprintf("[%s, %s, %s, %s]", fixed(emb[0], 4), fixed(emb[1], 4), fixed(emb[2], 4), fixed(emb[3], 4))),
	}
}

var cardActivityHeader = []string{"card_id", "event_time", "txn_count_1h", "txn_count_24h", "amount_sum_24h", "amount_avg_30d", "distinct_countries_7d", "last_txn_at"}

func cardActivityRow(rng *rand.Rand, id int, et, _ time.Time) []string {
	c1h := rng.IntN(4)
	if rng.IntN(100) == 0 {
		c1h = 8 + rng.IntN(12) // a burst, the pattern the fraud model looks for
	}
	c24h := c1h + rng.IntN(12)
	avg := 8 + rng.ExpFloat64()*45
	sum := 0.0
	if c24h > 0 {
		sum = float64(c24h) * avg * (0.5 + rng.Float64())
	}
	countries := 1
	if rng.IntN(10) == 0 {
		countries += 1 + rng.IntN(3)
	}
	last := et.Add(-time.Duration(rng.IntN(3600)) * time.Second)
	return []string{
		fmt.Sprintf("card-%04d", id),
		ts(et),
		strconv.Itoa(c1h),
		strconv.Itoa(c24h),
		maybeNull(rng, fixed(sum, 2)),
		maybeNull(rng, fixed(avg, 2)),
		maybeNull(rng, strconv.Itoa(countries)),
		maybeNull(rng, last.Format(time.RFC3339)),
	}
}

var merchantCategories = []string{"grocery", "electronics", "travel", "fashion", "gaming", "restaurants", "fuel", "pharmacy"}

var merchantRiskHeader = []string{"merchant_id", "event_time", "chargeback_rate_90d", "category", "is_high_risk"}

func merchantRiskRow(rng *rand.Rand, id int, et, _ time.Time) []string {
	rate := rng.ExpFloat64() * 0.006
	return []string{
		strconv.Itoa(id),
		ts(et),
		maybeNull(rng, fixed(rate, 5)),
		maybeNull(rng, merchantCategories[rng.IntN(len(merchantCategories))]),
		strconv.FormatBool(rate > 0.015),
	}
}
