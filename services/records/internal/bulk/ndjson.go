package bulk

import (
	"bufio"
	"bytes"
	"errors"
	"io"
)

// MaxLine bounds one NDJSON line: the JSON API's limit on one resource. A longer line
// is refused (too-long) without being kept; the lines after it are read on.
const MaxLine = 1 << 20

// tooLong stands, in a stored chunk, for a line longer than MaxLine: a NUL byte cannot
// begin a JSON text, so no real line is taken for it.
var tooLong = []byte("\x00\x00bulk: line too long\x00")

// chunkSize is how many bytes of whole lines a stored chunk holds, about.
const chunkSize = 1 << 20

// Line is one line of an NDJSON body, numbered from 1.
type Line struct {
	N    int
	Data []byte // without its line break; tooLong for a line over MaxLine
}

// Reader reads an NDJSON body line by line. A line ends at "\n" ("\r\n" is taken too);
// the last line may lack it. Blank lines are skipped but counted, so line numbers are
// those an editor shows.
type Reader struct {
	r    *bufio.Reader
	n    int
	done bool
}

// NewReader reads NDJSON from r.
func NewReader(r io.Reader) *Reader {
	return &Reader{r: bufio.NewReaderSize(r, MaxLine+2)}
}

// Next returns the next non-blank line; io.EOF after the last. Any other error is the
// underlying reader's.
func (r *Reader) Next() (Line, error) {
	for !r.done {
		b, err := r.r.ReadSlice('\n')
		over := false
		if errors.Is(err, bufio.ErrBufferFull) {
			over = true
			for errors.Is(err, bufio.ErrBufferFull) { // skip the rest of the line
				_, err = r.r.ReadSlice('\n')
			}
		}
		switch {
		case errors.Is(err, io.EOF):
			r.done = true
			if len(b) == 0 && !over {
				return Line{}, io.EOF
			}
		case err != nil:
			return Line{}, err
		}
		r.n++
		if over || len(bytes.TrimRight(b, "\r\n")) > MaxLine {
			return Line{N: r.n, Data: tooLong}, nil
		}
		b = bytes.TrimSuffix(b, []byte("\n"))
		b = bytes.TrimSuffix(b, []byte("\r"))
		if len(bytes.TrimSpace(b)) == 0 {
			continue
		}
		return Line{N: r.n, Data: append([]byte(nil), b...)}, nil
	}
	return Line{}, io.EOF
}

// Lines is the number of lines read so far, blank ones included.
func (r *Reader) Lines() int { return r.n }

// splitChunk returns the lines of a stored chunk whose first line is numbered first,
// skipping blank lines and those numbered up to done.
func splitChunk(data []byte, first, done int) []Line {
	var out []Line
	n := first
	for len(data) > 0 {
		i := bytes.IndexByte(data, '\n')
		var b []byte
		if i < 0 {
			b, data = data, nil
		} else {
			b, data = data[:i], data[i+1:]
		}
		if n > done && len(bytes.TrimSpace(b)) > 0 {
			out = append(out, Line{N: n, Data: b})
		}
		n++
	}
	return out
}

// chunker builds a stored chunk from lines: each line and its break, and an empty
// line for each blank one skipped, so that splitChunk numbers them as read.
type chunker struct {
	buf         bytes.Buffer
	first, last int // the numbers of the chunk's first and last lines
}

func (c *chunker) add(l Line) {
	if c.buf.Len() == 0 {
		c.first, c.last = l.N, l.N-1
	}
	for ; c.last < l.N-1; c.last++ {
		c.buf.WriteByte('\n')
	}
	c.buf.Write(l.Data)
	c.buf.WriteByte('\n')
	c.last = l.N
}
