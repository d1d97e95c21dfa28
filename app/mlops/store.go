package mlops

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"time"

	"github.com/metastation/metastation/app/errs"
)

// The registry's SQL. Writes go through the one writer connection in
// transactions (BEGIN IMMEDIATE), which also serialises alias moves.

func ms(t time.Time) int64       { return t.UnixMilli() }
func fromMS(v int64) time.Time   { return time.UnixMilli(v).UTC() }
func encodeJSON(v any) string    { b, _ := json.Marshal(v); return string(b) }
func decodeJSON(s string, v any) { _ = json.Unmarshal([]byte(s), v) }

// insertVersion adds a version of req.Model (creating the model) and
// returns its number.
func (r *Registry) insertVersion(ctx context.Context, req RegisterRequest, sum string, at time.Time) (int, error) {
	tx, err := r.db.W.BeginTx(ctx, nil)
	if err != nil {
		return 0, fmt.Errorf("register %s: %w", req.Model, err)
	}
	defer tx.Rollback()
	var kind string
	err = tx.QueryRowContext(ctx, `SELECT kind FROM mlops_models WHERE name = ?`, req.Model).Scan(&kind)
	switch {
	case errors.Is(err, sql.ErrNoRows):
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlops_models (name, kind, description, created_ms) VALUES (?, ?, ?, ?)`,
			req.Model, req.Kind, req.Description, ms(at)); err != nil {
			return 0, fmt.Errorf("register %s: %w", req.Model, err)
		}
		if _, err := tx.ExecContext(ctx, `INSERT INTO mlops_deployments (model, updated_ms) VALUES (?, ?)`, req.Model, ms(at)); err != nil {
			return 0, fmt.Errorf("register %s: %w", req.Model, err)
		}
	case err != nil:
		return 0, fmt.Errorf("register %s: %w", req.Model, err)
	case kind != req.Kind:
		return 0, errs.Errorf(errs.Conflict, "model %s holds %s models; this artifact is a %s", req.Model, kind, req.Kind)
	}
	if req.Lineage.Run != "" {
		var v int
		err := tx.QueryRowContext(ctx, `SELECT version FROM mlops_versions WHERE model = ? AND source = ? AND run_ref = ?`,
			req.Model, req.Lineage.Source, req.Lineage.Run).Scan(&v)
		if err == nil {
			return 0, errs.Errorf(errs.Conflict, "%s is already registered as version %d of %s", req.Lineage.Run, v, req.Model)
		}
		if !errors.Is(err, sql.ErrNoRows) {
			return 0, fmt.Errorf("register %s: %w", req.Model, err)
		}
	}
	var next int
	if err := tx.QueryRowContext(ctx, `SELECT COALESCE(MAX(version), 0) + 1 FROM mlops_versions WHERE model = ?`, req.Model).Scan(&next); err != nil {
		return 0, fmt.Errorf("register %s: %w", req.Model, err)
	}
	_, err = tx.ExecContext(ctx, `INSERT INTO mlops_versions (model, version, sha256, size, created_ms, source, run_ref, data_hash, seed, params, metrics, tags)
		VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
		req.Model, next, sum, len(req.Artifact), ms(at), req.Lineage.Source, req.Lineage.Run, req.Lineage.DataHash,
		int64(req.Lineage.Seed), encodeJSON(nonNilS(req.Params)), encodeJSON(nonNilF(req.Metrics)), encodeJSON(nonNilS(req.Tags)))
	if err != nil {
		return 0, fmt.Errorf("register %s: %w", req.Model, err)
	}
	if err := tx.Commit(); err != nil {
		return 0, fmt.Errorf("register %s: %w", req.Model, err)
	}
	return next, nil
}

func nonNilS(m map[string]string) map[string]string {
	if m == nil {
		return map[string]string{}
	}
	return m
}

func nonNilF(m map[string]float64) map[string]float64 {
	if m == nil {
		return map[string]float64{}
	}
	return m
}

// Models lists the registered models, by name.
func (r *Registry) Models(ctx context.Context) ([]Model, error) {
	rows, err := r.db.R.QueryContext(ctx, `SELECT name, kind, description, created_ms,
		(SELECT COALESCE(MAX(version), 0) FROM mlops_versions v WHERE v.model = m.name) FROM mlops_models m ORDER BY name`)
	if err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	defer rows.Close()
	var out []Model
	for rows.Next() {
		var m Model
		var created int64
		if err := rows.Scan(&m.Name, &m.Kind, &m.Description, &created, &m.Versions); err != nil {
			return nil, fmt.Errorf("list models: %w", err)
		}
		m.Created = fromMS(created)
		out = append(out, m)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("list models: %w", err)
	}
	for i := range out {
		if out[i].Aliases, err = r.aliases(ctx, out[i].Name); err != nil {
			return nil, err
		}
	}
	return out, nil
}

// Model returns one model, NotFound if it is not registered.
func (r *Registry) Model(ctx context.Context, name string) (Model, error) {
	var m Model
	var created int64
	err := r.db.R.QueryRowContext(ctx, `SELECT name, kind, description, created_ms,
		(SELECT COALESCE(MAX(version), 0) FROM mlops_versions v WHERE v.model = m.name) FROM mlops_models m WHERE name = ?`, name).
		Scan(&m.Name, &m.Kind, &m.Description, &created, &m.Versions)
	if errors.Is(err, sql.ErrNoRows) {
		return Model{}, errs.Errorf(errs.NotFound, "there is no model %q in the registry", clip(name))
	}
	if err != nil {
		return Model{}, fmt.Errorf("model %s: %w", name, err)
	}
	m.Created = fromMS(created)
	if m.Aliases, err = r.aliases(ctx, name); err != nil {
		return Model{}, err
	}
	return m, nil
}

func (r *Registry) aliases(ctx context.Context, model string) (map[string]int, error) {
	rows, err := r.db.R.QueryContext(ctx, `SELECT alias, version FROM mlops_aliases WHERE model = ?`, model)
	if err != nil {
		return nil, fmt.Errorf("aliases of %s: %w", model, err)
	}
	defer rows.Close()
	out := map[string]int{}
	for rows.Next() {
		var a string
		var v int
		if err := rows.Scan(&a, &v); err != nil {
			return nil, fmt.Errorf("aliases of %s: %w", model, err)
		}
		out[a] = v
	}
	return out, rows.Err()
}

const versionColumns = `model, version, sha256, size, created_ms, source, run_ref, data_hash, seed, params, metrics, tags`

func scanVersion(sc interface{ Scan(...any) error }) (Version, error) {
	var v Version
	var created, seed int64
	var params, metrics, tags string
	if err := sc.Scan(&v.Model, &v.Version, &v.SHA256, &v.Size, &created, &v.Lineage.Source, &v.Lineage.Run,
		&v.Lineage.DataHash, &seed, &params, &metrics, &tags); err != nil {
		return Version{}, err
	}
	v.Created, v.Lineage.Seed = fromMS(created), uint64(seed)
	decodeJSON(params, &v.Params)
	decodeJSON(metrics, &v.Metrics)
	decodeJSON(tags, &v.Tags)
	return v, nil
}

// Versions lists a model's versions, newest first, with their aliases.
func (r *Registry) Versions(ctx context.Context, model string) ([]Version, error) {
	m, err := r.Model(ctx, model)
	if err != nil {
		return nil, err
	}
	rows, err := r.db.R.QueryContext(ctx, `SELECT `+versionColumns+` FROM mlops_versions WHERE model = ? ORDER BY version DESC`, model)
	if err != nil {
		return nil, fmt.Errorf("versions of %s: %w", model, err)
	}
	defer rows.Close()
	var out []Version
	for rows.Next() {
		v, err := scanVersion(rows)
		if err != nil {
			return nil, fmt.Errorf("versions of %s: %w", model, err)
		}
		out = append(out, v)
	}
	if err := rows.Err(); err != nil {
		return nil, fmt.Errorf("versions of %s: %w", model, err)
	}
	for i := range out {
		out[i].Aliases = aliasesOf(m.Aliases, out[i].Version)
	}
	return out, nil
}

func aliasesOf(aliases map[string]int, version int) []string {
	var out []string
	for a, v := range aliases {
		if v == version {
			out = append(out, a)
		}
	}
	slicesSort(out)
	return out
}

// Version returns one version, NotFound if the model or version does not exist.
func (r *Registry) Version(ctx context.Context, model string, version int) (Version, error) {
	m, err := r.Model(ctx, model)
	if err != nil {
		return Version{}, err
	}
	v, err := scanVersion(r.db.R.QueryRowContext(ctx, `SELECT `+versionColumns+` FROM mlops_versions WHERE model = ? AND version = ?`, model, version))
	if errors.Is(err, sql.ErrNoRows) {
		return Version{}, errs.Errorf(errs.NotFound, "model %s has no version %d (its latest is %d)", model, version, m.Versions)
	}
	if err != nil {
		return Version{}, fmt.Errorf("version %d of %s: %w", version, model, err)
	}
	v.Aliases = aliasesOf(m.Aliases, version)
	return v, nil
}

// moveAlias points alias at version (0 removes it) and appends the move to
// the history, in one transaction. want, when not nil, is the version the
// caller expects the alias to point at now (0: unset); a different one is a
// Conflict, so that a decision taken on stale state is not applied.
func (r *Registry) moveAlias(ctx context.Context, model, alias string, version int, want *int, actor, reason string, rollback bool) (AliasMove, error) {
	if r.rep != nil {
		return r.rep.MoveAlias(ctx, AliasMove{Model: model, Alias: alias, Version: version, Actor: actor, Reason: reason, Rollback: rollback}, want)
	}
	tx, err := r.db.W.BeginTx(ctx, nil)
	if err != nil {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	defer tx.Rollback()
	var prev int
	err = tx.QueryRowContext(ctx, `SELECT version FROM mlops_aliases WHERE model = ? AND alias = ?`, model, alias).Scan(&prev)
	if err != nil && !errors.Is(err, sql.ErrNoRows) {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	if want != nil && *want != prev {
		return AliasMove{}, errs.Errorf(errs.Conflict, "%s of %s points at version %d now, not %d; nothing was moved", alias, model, prev, *want)
	}
	if version == 0 && prev == 0 {
		return AliasMove{}, errs.Errorf(errs.NotFound, "model %s has no alias %q", model, alias)
	}
	// Times in the history never go backwards, even if the clock does, so
	// "which version at time T" has one answer.
	at := ms(r.now())
	var last sql.NullInt64
	if err := tx.QueryRowContext(ctx, `SELECT MAX(at_ms) FROM mlops_alias_history WHERE model = ? AND alias = ?`, model, alias).Scan(&last); err != nil {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	if last.Valid && last.Int64 > at {
		at = last.Int64
	}
	if version == 0 {
		_, err = tx.ExecContext(ctx, `DELETE FROM mlops_aliases WHERE model = ? AND alias = ?`, model, alias)
	} else {
		_, err = tx.ExecContext(ctx, `INSERT INTO mlops_aliases (model, alias, version, moved_ms) VALUES (?, ?, ?, ?)
			ON CONFLICT (model, alias) DO UPDATE SET version = excluded.version, moved_ms = excluded.moved_ms`, model, alias, version, at)
	}
	if err != nil {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	res, err := tx.ExecContext(ctx, `INSERT INTO mlops_alias_history (model, alias, version, previous, at_ms, actor, reason, rollback) VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
		model, alias, nullInt(version), nullInt(prev), at, actor, reason, rollback)
	if err != nil {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	id, _ := res.LastInsertId()
	if err := tx.Commit(); err != nil {
		return AliasMove{}, fmt.Errorf("move alias %s of %s: %w", alias, model, err)
	}
	return AliasMove{ID: id, Model: model, Alias: alias, Version: version, Previous: prev, At: fromMS(at), Actor: actor, Reason: reason, Rollback: rollback}, nil
}

func nullInt(v int) sql.NullInt64 { return sql.NullInt64{Int64: int64(v), Valid: v != 0} }

const moveColumns = `id, model, alias, COALESCE(version, 0), COALESCE(previous, 0), at_ms, actor, reason, rollback`

func scanMove(sc interface{ Scan(...any) error }) (AliasMove, error) {
	var m AliasMove
	var at int64
	if err := sc.Scan(&m.ID, &m.Model, &m.Alias, &m.Version, &m.Previous, &at, &m.Actor, &m.Reason, &m.Rollback); err != nil {
		return AliasMove{}, err
	}
	m.At = fromMS(at)
	return m, nil
}

// History returns the moves of a model's aliases (of one alias when alias
// is not empty), oldest first.
func (r *Registry) History(ctx context.Context, model, alias string) ([]AliasMove, error) {
	if _, err := r.Model(ctx, model); err != nil {
		return nil, err
	}
	rows, err := r.db.R.QueryContext(ctx, `SELECT `+moveColumns+` FROM mlops_alias_history
		WHERE model = ? AND (? = '' OR alias = ?) ORDER BY at_ms, id`, model, alias, alias)
	if err != nil {
		return nil, fmt.Errorf("alias history of %s: %w", model, err)
	}
	defer rows.Close()
	var out []AliasMove
	for rows.Next() {
		m, err := scanMove(rows)
		if err != nil {
			return nil, fmt.Errorf("alias history of %s: %w", model, err)
		}
		out = append(out, m)
	}
	return out, rows.Err()
}

// lastMove returns the move in force for alias at t (the latest at or
// before it), sql.ErrNoRows when there is none.
func (r *Registry) lastMove(ctx context.Context, model, alias string, t time.Time) (AliasMove, error) {
	return scanMove(r.db.R.QueryRowContext(ctx, `SELECT `+moveColumns+` FROM mlops_alias_history
		WHERE model = ? AND alias = ? AND at_ms <= ? ORDER BY at_ms DESC, id DESC LIMIT 1`, model, alias, ms(t)))
}

// AddEvent appends a decision to the audit log.
func (r *Registry) AddEvent(ctx context.Context, e Event) (Event, error) {
	if e.At.IsZero() {
		e.At = r.now()
	}
	res, err := r.db.W.ExecContext(ctx, `INSERT INTO mlops_events (model, at_ms, kind, actor, decision, stats) VALUES (?, ?, ?, ?, ?, ?)`,
		e.Model, ms(e.At), e.Kind, e.Actor, e.Decision, encodeJSON(e.Stats))
	if err != nil {
		return e, fmt.Errorf("audit %s of %s: %w", e.Kind, e.Model, err)
	}
	e.ID, _ = res.LastInsertId()
	e.At = fromMS(ms(e.At))
	return e, nil
}

// Events returns a model's decisions (every model's when model is empty),
// newest first, at most limit.
func (r *Registry) Events(ctx context.Context, model string, limit int) ([]Event, error) {
	rows, err := r.db.R.QueryContext(ctx, `SELECT id, model, at_ms, kind, actor, decision, stats FROM mlops_events
		WHERE ? = '' OR model = ? ORDER BY id DESC LIMIT ?`, model, model, limit)
	if err != nil {
		return nil, fmt.Errorf("audit log: %w", err)
	}
	defer rows.Close()
	var out []Event
	for rows.Next() {
		var e Event
		var at int64
		var stats string
		if err := rows.Scan(&e.ID, &e.Model, &at, &e.Kind, &e.Actor, &e.Decision, &stats); err != nil {
			return nil, fmt.Errorf("audit log: %w", err)
		}
		e.At = fromMS(at)
		decodeJSON(stats, &e.Stats)
		out = append(out, e)
	}
	return out, rows.Err()
}

// Deployment returns a model's traffic split.
func (r *Registry) Deployment(ctx context.Context, model string) (Deployment, error) {
	d := Deployment{Model: model}
	var shadow int
	var updated int64
	err := r.db.R.QueryRowContext(ctx, `SELECT canary_share, shadow, state, updated_ms FROM mlops_deployments WHERE model = ?`, model).
		Scan(&d.CanaryShare, &shadow, &d.State, &updated)
	if errors.Is(err, sql.ErrNoRows) {
		return Deployment{}, errs.Errorf(errs.NotFound, "there is no model %q in the registry", clip(model))
	}
	if err != nil {
		return Deployment{}, fmt.Errorf("deployment of %s: %w", model, err)
	}
	d.Shadow, d.Updated = shadow != 0, fromMS(updated)
	return d, nil
}

// saveDeployment writes d.
func (r *Registry) saveDeployment(ctx context.Context, d Deployment) error {
	shadow := 0
	if d.Shadow {
		shadow = 1
	}
	res, err := r.db.W.ExecContext(ctx, `UPDATE mlops_deployments SET canary_share = ?, shadow = ?, state = ?, updated_ms = ? WHERE model = ?`,
		d.CanaryShare, shadow, d.State, ms(d.Updated), d.Model)
	if err != nil {
		return fmt.Errorf("save deployment of %s: %w", d.Model, err)
	}
	if n, _ := res.RowsAffected(); n == 0 {
		return errs.Errorf(errs.NotFound, "there is no model %q in the registry", clip(d.Model))
	}
	return nil
}

// SetOptOut records (or clears) that a run's models must not register
// themselves.
func (r *Registry) SetOptOut(ctx context.Context, source, run string, out bool) error {
	q := `INSERT OR IGNORE INTO mlops_optout (source, run_ref) VALUES (?, ?)`
	if !out {
		q = `DELETE FROM mlops_optout WHERE source = ? AND run_ref = ?`
	}
	if _, err := r.db.W.ExecContext(ctx, q, source, run); err != nil {
		return fmt.Errorf("opt %s out: %w", run, err)
	}
	return nil
}

// OptedOut reports whether a run opted out of registration.
func (r *Registry) OptedOut(ctx context.Context, source, run string) (bool, error) {
	var n int
	if err := r.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM mlops_optout WHERE source = ? AND run_ref = ?`, source, run).Scan(&n); err != nil {
		return false, fmt.Errorf("opt-out of %s: %w", run, err)
	}
	return n > 0, nil
}

// registered reports whether a run already registered a version of model.
func (r *Registry) registered(ctx context.Context, model, source, run string) (bool, error) {
	var n int
	if err := r.db.R.QueryRowContext(ctx, `SELECT COUNT(*) FROM mlops_versions WHERE model = ? AND source = ? AND run_ref = ?`, model, source, run).Scan(&n); err != nil {
		return false, fmt.Errorf("registration of %s: %w", run, err)
	}
	return n > 0, nil
}

// rollbackTarget returns the version alias pointed at before the move that
// brought in its current version, skipping moves that were rollbacks
// themselves, so that rolling back twice goes back two versions. It
// returns 0 when there is nothing to go back to.
func (r *Registry) rollbackTarget(ctx context.Context, model, alias string, current int) (int, error) {
	var prev sql.NullInt64
	err := r.db.R.QueryRowContext(ctx, `SELECT previous FROM mlops_alias_history
		WHERE model = ? AND alias = ? AND version = ? AND rollback = 0 ORDER BY at_ms DESC, id DESC LIMIT 1`, model, alias, current).Scan(&prev)
	if errors.Is(err, sql.ErrNoRows) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("rollback of %s: %w", alias, err)
	}
	return int(prev.Int64), nil
}
