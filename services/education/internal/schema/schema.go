// Package schema holds the education service's database migrations, one folder per
// dialect, embedded: the patient directory, the catalog, the chart projection,
// suggestions and provisions. Every package of the service migrates through it, so
// tests and the service run the same schema.
package schema

import (
	"embed"
	"io/fs"
)

//go:embed migrations
var migrations embed.FS

// Migrations are the service's schema migrations, one folder per dialect.
func Migrations() fs.FS {
	sub, _ := fs.Sub(migrations, "migrations") // cannot fail: the folder is embedded
	return sub
}
