package market

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"slices"
	"time"

	"github.com/metastation/metastation/app/store"
)

// ResumePoint reads where a market persisted in db stopped, so that a
// restarted server's market carries on instead of starting Monday 09:30
// again at the preset prices: the minute after the latest one-minute bar of
// u's symbols, and u with each symbol's starting price set to its last
// close. ok is false when db holds no one-minute bar of u's symbols. The
// random state and the books are not restored: the market resumes at the
// same time and prices, not the same draws.
func ResumePoint(ctx context.Context, db *store.DB, u Universe) (resumed Universe, start time.Time, ok bool, err error) {
	resumed = u
	resumed.Instruments = slices.Clone(u.Instruments)
	var latest int64
	for i, in := range resumed.Instruments {
		var ts int64
		var close float64
		err := db.R.QueryRowContext(ctx, `SELECT ts, close FROM market_bars WHERE symbol = ? AND interval = '1m'
			ORDER BY ts DESC LIMIT 1`, in.Symbol).Scan(&ts, &close)
		if errors.Is(err, sql.ErrNoRows) {
			continue
		}
		if err != nil {
			return u, time.Time{}, false, fmt.Errorf("read %s's last bar: %w", in.Symbol, err)
		}
		if close > 0 {
			resumed.Instruments[i].Price = close
		}
		latest = max(latest, ts)
		ok = true
	}
	if !ok {
		return u, time.Time{}, false, nil
	}
	return resumed, time.Unix(latest, 0).UTC().Add(time.Minute), true, nil
}
