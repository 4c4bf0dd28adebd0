package offline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// retryPolicy says how transient failures (errors matching ErrUnavailable) are
// retried: exponential backoff from base, capped at max, with jitter, for as long
// as the context's deadline leaves room for the next wait, or at most
// attemptsNoDeadline attempts when the context has no deadline.
type retryPolicy struct {
	base               time.Duration
	max                time.Duration
	attemptsNoDeadline int
}

// defaultRetry retries a catalog or object store hiccup within tens of
// milliseconds first, so a point lookup with a 100 ms budget still gets two or
// three attempts, and backs off to a second between attempts for longer outages.
var defaultRetry = retryPolicy{base: 10 * time.Millisecond, max: time.Second, attemptsNoDeadline: 6}

// retry runs op until it succeeds, fails with an error that is not of the
// ErrUnavailable class (schema, data, missing table or snapshot errors are
// returned at once), or the context's deadline leaves no room for another
// attempt. The error returned is op's last one, so it keeps its class.
func retry(ctx context.Context, op func(context.Context) error) error {
	return retryWith(ctx, defaultRetry, op)
}

func retryWith(ctx context.Context, p retryPolicy, op func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || !errors.Is(err, ErrUnavailable) {
			return err
		}
		if ctx.Err() != nil {
			return err
		}
		wait := p.wait(attempt)
		if deadline, ok := ctx.Deadline(); ok {
			if time.Until(deadline) <= wait {
				return fmt.Errorf("%w (gave up after %d attempt(s): the deadline leaves no time for another)", err, attempt)
			}
		} else if attempt >= p.attemptsNoDeadline {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		t := time.NewTimer(wait)
		select {
		case <-ctx.Done():
			t.Stop()
			return err
		case <-t.C:
		}
	}
}

// wait is the pause after the given failed attempt (1-based): base·2^(attempt-1)
// capped at max, then drawn uniformly from its upper half so clients that failed
// together do not retry together.
func (p retryPolicy) wait(attempt int) time.Duration {
	d := p.max
	if shift := attempt - 1; shift < 30 {
		if e := p.base << shift; e > 0 && e < p.max {
			d = e
		}
	}
	half := d / 2
	return half + time.Duration(rand.Int64N(int64(half)+1))
}
