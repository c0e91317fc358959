package generate

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
)

// FileName is the NDJSON file of a kind inside the output directory.
func FileName(kind string) string { return kind + ".ndjson" }

// ImportFiles are the files in the output directory (written when asked for, see
// Dir.WithImportFile) holding records' lines as one records bulk import, each line
// wrapped as {"kind": kind, "body": line}, to be uploaded one after the other as one
// body: the first the directory and every patient (so that every service learns the
// patients at once), the second their facts in the order generated — each chunk of
// patients with every kind of their facts — so that each line refers only to lines
// before it and a patient's facts reach the pipeline together.
var ImportFiles = []string{"records-import-patients.ndjson", "records-import-facts.ndjson"}

// ImportFile is the file of ImportFiles a records line of kind goes to.
func ImportFile(kind string) string {
	if i := slices.Index(Kinds, kind); i >= 0 && i <= slices.Index(Kinds, "patients") {
		return ImportFiles[0]
	}
	return ImportFiles[1]
}

// Dir writes each kind's lines to its own file in a directory.
type Dir struct {
	files   []*os.File
	writers map[string]*bufio.Writer
	imp     []*os.File // ImportFiles, when asked for
	impW    map[string]*bufio.Writer
}

// WithImportFile makes d also write ImportFiles.
func (d *Dir) WithImportFile() error {
	if d.imp != nil {
		return nil
	}
	if len(d.files) == 0 {
		return errors.New("generate: the directory is closed")
	}
	d.impW = map[string]*bufio.Writer{}
	for _, name := range ImportFiles {
		f, err := os.Create(filepath.Join(filepath.Dir(d.files[0].Name()), name))
		if err != nil {
			return fmt.Errorf("generate: %w", err)
		}
		d.imp = append(d.imp, f)
		d.impW[name] = bufio.NewWriterSize(f, 1<<20)
	}
	return nil
}

// AppendImportLine appends one records line of kind, wrapped, to w.
func AppendImportLine(w io.Writer, kind string, line []byte) error {
	if _, err := io.WriteString(w, `{"kind":"`+kind+`","body":`); err != nil {
		return err
	}
	if _, err := w.Write(line); err != nil {
		return err
	}
	_, err := io.WriteString(w, "}\n")
	return err
}

// CreateDir creates dir if needed and one empty file per kind (AllKinds) in it, replacing any
// earlier output.
func CreateDir(dir string) (*Dir, error) {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("generate: create %s: %w", dir, err)
	}
	d := &Dir{writers: map[string]*bufio.Writer{}}
	for _, kind := range AllKinds {
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
	if _, err := w.Write(lines); err != nil {
		return err
	}
	if d.impW == nil || ServicePath(kind) != "" {
		return nil
	}
	iw := d.impW[ImportFile(kind)]
	for line := range bytes.Lines(lines) {
		if err := AppendImportLine(iw, kind, bytes.TrimSuffix(line, []byte{'\n'})); err != nil {
			return err
		}
	}
	return nil
}

// Close flushes and closes every file.
func (d *Dir) Close() error {
	var errs []error
	for i, f := range d.files {
		if w := d.writers[AllKinds[i]]; w != nil {
			errs = append(errs, w.Flush())
		}
		errs = append(errs, f.Close())
	}
	for _, f := range d.imp {
		errs = append(errs, d.impW[filepath.Base(f.Name())].Flush(), f.Close())
	}
	d.imp, d.impW = nil, nil
	d.files = nil
	return errors.Join(errs...)
}
