package metrics

import (
	"errors"
	"io/fs"
	"slices"
	"strings"
)

// layered is the union of several migration file systems, each with the same
// dialect folders (sqlite/, postgres/) holding files of distinct versions: the
// service's packages each own their migrations, and the store migrates them as one
// sequence.
type layered []fs.FS

// Open opens name in the first file system that has it.
func (l layered) Open(name string) (fs.File, error) {
	for _, fsys := range l {
		f, err := fsys.Open(name)
		if err == nil || !errors.Is(err, fs.ErrNotExist) {
			return f, err
		}
	}
	return nil, &fs.PathError{Op: "open", Path: name, Err: fs.ErrNotExist}
}

// ReadDir lists name's entries in every file system that has it, by name.
func (l layered) ReadDir(name string) ([]fs.DirEntry, error) {
	var out []fs.DirEntry
	found := false
	for _, fsys := range l {
		entries, err := fs.ReadDir(fsys, name)
		if errors.Is(err, fs.ErrNotExist) {
			continue
		}
		if err != nil {
			return nil, err
		}
		found = true
		out = append(out, entries...)
	}
	if !found {
		return nil, &fs.PathError{Op: "readdir", Path: name, Err: fs.ErrNotExist}
	}
	slices.SortFunc(out, func(a, b fs.DirEntry) int { return strings.Compare(a.Name(), b.Name()) })
	return out, nil
}
