package mlops

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"github.com/metastation/metastation/app/errs"
	"github.com/metastation/metastation/app/store"
)

// Registry keeps models, versions and aliases in the database and their
// artifacts in the content-addressed store.
type Registry struct {
	db      *store.DB
	art     *Artifacts
	loaders map[string]Loader
	now     func() time.Time
	rep     Replicator // cluster mode: alias moves go through the cluster (replicate.go)
}

// NewRegistry returns a registry on db and art; loaders (Loaders() in the
// app) turn artifacts into predictors; now may be nil for time.Now.
func NewRegistry(db *store.DB, art *Artifacts, loaders map[string]Loader, now func() time.Time) *Registry {
	if now == nil {
		now = time.Now
	}
	return &Registry{db: db, art: art, loaders: loaders, now: now}
}

// Register stores a new version of req.Model, creating the model on its
// first version. The artifact must load as a model of req.Kind.
func (r *Registry) Register(ctx context.Context, req RegisterRequest) (Version, error) {
	if err := checkModelName(req.Model); err != nil {
		return Version{}, err
	}
	if err := checkKind(req.Kind); err != nil {
		return Version{}, err
	}
	if len(req.Description) > 1000 || len(req.Params) > 200 || len(req.Metrics) > 200 || len(req.Tags) > 200 {
		return Version{}, errs.Errorf(errs.Invalid, "a version holds at most 200 parameters, metrics and tags each and a description of 1000 characters")
	}
	if _, err := r.load(req.Kind, req.Artifact); err != nil {
		return Version{}, errs.Errorf(errs.Invalid, "the artifact is not a %s model: %v", req.Kind, err)
	}
	sum, err := r.art.Put(req.Artifact)
	if err != nil {
		return Version{}, err
	}
	v, err := r.insertVersion(ctx, req, sum, r.now())
	if err != nil {
		return Version{}, err
	}
	return r.Version(ctx, req.Model, v)
}

func (r *Registry) load(kind string, data []byte) (Predictor, error) {
	l, ok := r.loaders[kind]
	if !ok {
		return nil, fmt.Errorf("no loader for %s models", kind)
	}
	return l(data)
}

// Artifact returns a version's artifact after checking its sha256. A file
// changed on disk is an Unavailable error that says so.
func (r *Registry) Artifact(ctx context.Context, model string, version int) (Version, []byte, error) {
	v, err := r.Version(ctx, model, version)
	if err != nil {
		return Version{}, nil, err
	}
	data, err := r.art.Get(v.SHA256)
	var ce *ChecksumError
	if errors.As(err, &ce) {
		return v, nil, errs.Wrap(errs.Unavailable, err, "version %d of %s fails its check: its artifact's sha256 is %s… where the registry recorded %s…, so it was changed on disk; it will not be loaded", version, model, ce.Got[:12], ce.Want[:12])
	}
	if err != nil {
		return v, nil, err
	}
	return v, data, nil
}

// Open returns a version's predictor, from its verified artifact.
func (r *Registry) Open(ctx context.Context, model string, version int) (Version, Predictor, error) {
	m, err := r.Model(ctx, model)
	if err != nil {
		return Version{}, nil, err
	}
	v, data, err := r.Artifact(ctx, model, version)
	if err != nil {
		return v, nil, err
	}
	p, err := r.load(m.Kind, data)
	if err != nil {
		return v, nil, errs.Wrap(errs.Unavailable, err, "version %d of %s does not load as a %s model", version, model, m.Kind)
	}
	return v, p, nil
}

// Resolve returns the version alias points at.
func (r *Registry) Resolve(ctx context.Context, model, alias string) (Version, error) {
	m, err := r.Model(ctx, model)
	if err != nil {
		return Version{}, err
	}
	v, ok := m.Aliases[alias]
	if !ok {
		return Version{}, errs.Errorf(errs.NotFound, "model %s has no alias %q", model, clip(alias))
	}
	return r.Version(ctx, model, v)
}

// SetAlias points alias at version, after checking that the version's
// artifact is intact and loads: a damaged one leaves the alias where it
// was. Moves are serialised by the database, and each is appended to the
// alias's history.
func (r *Registry) SetAlias(ctx context.Context, model, alias string, version int, actor, reason string) (AliasMove, error) {
	return r.setAlias(ctx, model, alias, version, nil, actor, reason, false)
}

// SetAliasIf is SetAlias only if alias points at want now (0: is unset);
// otherwise it is a Conflict and nothing moves. Automatic decisions use it,
// so that one taken on a stale view is not applied.
func (r *Registry) SetAliasIf(ctx context.Context, model, alias string, version, want int, actor, reason string) (AliasMove, error) {
	return r.setAlias(ctx, model, alias, version, &want, actor, reason, false)
}

func (r *Registry) setAlias(ctx context.Context, model, alias string, version int, want *int, actor, reason string, rollback bool) (AliasMove, error) {
	if err := checkAlias(alias); err != nil {
		return AliasMove{}, err
	}
	if len(reason) > 500 {
		reason = reason[:500]
	}
	if _, _, err := r.Open(ctx, model, version); err != nil {
		return AliasMove{}, err
	}
	return r.moveAlias(ctx, model, alias, version, want, actor, reason, rollback)
}

// DeleteAlias removes alias; the removal is kept in its history.
func (r *Registry) DeleteAlias(ctx context.Context, model, alias, actor, reason string) (AliasMove, error) {
	if _, err := r.Model(ctx, model); err != nil {
		return AliasMove{}, err
	}
	return r.moveAlias(ctx, model, alias, 0, nil, actor, reason, false)
}

// Rollback moves alias back to the version it pointed at before its
// current one came in (rolling back twice goes back two versions).
func (r *Registry) Rollback(ctx context.Context, model, alias, actor, reason string) (AliasMove, error) {
	cur, err := r.Resolve(ctx, model, alias)
	if err != nil {
		return AliasMove{}, err
	}
	to, err := r.rollbackTarget(ctx, model, alias, cur.Version)
	if err != nil {
		return AliasMove{}, err
	}
	if to == 0 {
		return AliasMove{}, errs.Errorf(errs.Conflict, "%s of %s has pointed at version %d since it was first set; there is nothing to roll back to", alias, model, cur.Version)
	}
	if reason == "" {
		reason = fmt.Sprintf("rollback from version %d", cur.Version)
	}
	return r.setAlias(ctx, model, alias, to, &cur.Version, actor, reason, true)
}

// AliasAt returns the move in force for alias at t: which version it named
// then (Version 0 if it had been removed). An alias not yet set at t is
// NotFound.
func (r *Registry) AliasAt(ctx context.Context, model, alias string, t time.Time) (AliasMove, error) {
	if _, err := r.Model(ctx, model); err != nil {
		return AliasMove{}, err
	}
	m, err := r.lastMove(ctx, model, alias, t)
	if errors.Is(err, sql.ErrNoRows) {
		return AliasMove{}, errs.Errorf(errs.NotFound, "model %s had no alias %q at %s", model, clip(alias), t.UTC().Format(time.RFC3339))
	}
	if err != nil {
		return AliasMove{}, fmt.Errorf("alias %s of %s at %v: %w", alias, model, t, err)
	}
	return m, nil
}

func slicesSort(s []string) { slices.Sort(s) }

// ArtifactsDir is the artifact store's folder inside the data directory.
const ArtifactsDir = "models"

// OpenRegistry returns the registry of the data directory dataDir on db,
// with every kind's loader: what the server and the CLI both use.
func OpenRegistry(db *store.DB, dataDir string) (*Registry, error) {
	art, err := NewArtifacts(filepath.Join(dataDir, ArtifactsDir))
	if err != nil {
		return nil, err
	}
	return NewRegistry(db, art, Loaders(), nil), nil
}
