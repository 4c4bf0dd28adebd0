package offline

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"time"
)

// retryPolicy says how transient failures (errors matching ErrUnavailable) are
// retried: up to attempts tries, waiting between them with exponential backoff
// from base, capped at max, with jitter, and never past the context's deadline.
type retryPolicy struct {
	base     time.Duration
	max      time.Duration
	attempts int
}

// defaultRetry rides out a blip (a dropped connection, a catalog restarting, a
// throttled object store read) within about a third of a second, so a point
// lookup with a 100 ms budget still gets two or three attempts, while a real
// outage surfaces promptly as ErrUnavailable: the server then degrades and the
// materializer retries at its next tick, rather than every call hanging until
// its deadline.
var defaultRetry = retryPolicy{base: 10 * time.Millisecond, max: 500 * time.Millisecond, attempts: 6}

// retry runs op until it succeeds, fails with an error that is not of the
// ErrUnavailable class (schema, data, missing table or snapshot errors are
// returned at once), has been tried the policy's number of times, or the
// context's deadline leaves no room for the next wait. The error returned is
// op's last one, so it keeps its class.
func retry(ctx context.Context, op func(context.Context) error) error {
	return retryWith(ctx, defaultRetry, op)
}

func retryWith(ctx context.Context, p retryPolicy, op func(context.Context) error) error {
	for attempt := 1; ; attempt++ {
		err := op(ctx)
		if err == nil || !errors.Is(err, ErrUnavailable) || ctx.Err() != nil {
			return err
		}
		if attempt >= p.attempts {
			return fmt.Errorf("%w (gave up after %d attempts)", err, attempt)
		}
		wait := p.wait(attempt)
		if deadline, ok := ctx.Deadline(); ok && time.Until(deadline) <= wait {
			return fmt.Errorf("%w (gave up after %d attempt(s): the deadline leaves no time for another)", err, attempt)
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
