package generate

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"path/filepath"
)

// FileName is the NDJSON file of a kind inside the output directory.
func FileName(kind string) string { return kind + ".ndjson" }

// Dir writes each kind's lines to its own file in a directory.
type Dir struct {
	files   []*os.File
	writers map[string]*bufio.Writer
}

// CreateDir creates dir if needed and one empty file per kind in it, replacing any
// earlier output.
func CreateDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("generate: create %s: %w", dir, err)
	}
	d := &Dir{writers: map[string]*bufio.Writer{}}
	for _, kind := range Kinds {
		f, err := os.Create(filepath.Join(dir, FileName(kind)))
		if err != nil {
			return nil, errors.Join(fmt.Errorf("generate: %w", err), d.Close())
		}
		d.files = append(d.files, f)
		d.writers[kind] = bufio.NewWriterSize(f, 256<<10)
	}
	return d, nil
}

// Lines appends lines to kind's file.
func (d *Dir) Lines(kind string, lines []byte) error {
	w, ok := d.writers[kind]
	if !ok {
		return fmt.Errorf("generate: unknown kind %q", kind)
	}
	_, err := w.Write(lines)
	return err
}

// Close flushes and closes every file.
func (d *Dir) Close() error {
	var errs []error
	for i, f := range d.files {
		if w := d.writers[Kinds[i]]; w != nil {
			errs = append(errs, w.Flush())
		}
		errs = append(errs, f.Close())
	}
	d.files = nil
	return errors.Join(errs...)
}
