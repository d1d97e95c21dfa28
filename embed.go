package main

import (
	"embed"
	"io/fs"
)

//go:embed static
var staticFiles embed.FS

//go:embed migrations/*.sql
var migrationFiles embed.FS

func staticFS() fs.FS     { return mustSub(staticFiles, "static") }
func migrationsFS() fs.FS { return mustSub(migrationFiles, "migrations") }

func mustSub(f fs.FS, dir string) fs.FS {
	sub, err := fs.Sub(f, dir)
	if err != nil {
		panic(err) // only on a typo in the directory name above
	}
	return sub
}
