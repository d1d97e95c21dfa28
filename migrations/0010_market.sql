-- Bars of the simulated market (1m, 1h, 1d), written by the market service
-- through the batching writer. ts is the bar's start in Unix seconds.
CREATE TABLE market_bars (
    symbol   TEXT    NOT NULL,
    interval TEXT    NOT NULL CHECK (interval IN ('1m', '1h', '1d')),
    ts       INTEGER NOT NULL,
    open     REAL    NOT NULL,
    high     REAL    NOT NULL,
    low      REAL    NOT NULL,
    close    REAL    NOT NULL,
    volume   REAL    NOT NULL,
    trades   INTEGER NOT NULL,
    PRIMARY KEY (symbol, interval, ts)
) WITHOUT ROWID;

-- Daily bars imported from CSV files (Yahoo Finance layout). date is
-- YYYY-MM-DD, or an RFC 3339 time for intraday rows.
CREATE TABLE market_series (
    symbol    TEXT NOT NULL,
    date      TEXT NOT NULL,
    open      REAL NOT NULL,
    high      REAL NOT NULL,
    low       REAL NOT NULL,
    close     REAL NOT NULL,
    adj_close REAL NOT NULL,
    volume    REAL NOT NULL,
    PRIMARY KEY (symbol, date)
) WITHOUT ROWID;
