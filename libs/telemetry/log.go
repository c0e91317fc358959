package telemetry

import (
	"context"
	"log/slog"
	"slices"

	"go.opentelemetry.io/otel/trace"
)

// traceHandler adds service, trace_id and span_id at the top level of every record.
//
// It keeps the groups opened by WithGroup itself instead of passing them down, so
// that those three attributes stay top-level (log queries look for trace_id, not
// patient.trace_id); the cost is that grouped attributes are rebuilt per record. A
// top-level "service" attribute added with WithAttrs replaces the default one, so a
// logger narrowed to one service of the all-in-one binary does not print two.
type traceHandler struct {
	next    slog.Handler // holds only top-level attributes
	service string       // "" once overridden by WithAttrs
	groups  []group      // open groups, outermost first
}

// group is one WithGroup call and the attributes added inside it.
type group struct {
	name  string
	attrs []slog.Attr
}

func newTraceHandler(next slog.Handler, service string) *traceHandler {
	return &traceHandler{next: next, service: service}
}

func (h *traceHandler) Enabled(ctx context.Context, l slog.Level) bool {
	return h.next.Enabled(ctx, l)
}

func (h *traceHandler) WithAttrs(attrs []slog.Attr) slog.Handler {
	if len(attrs) == 0 {
		return h
	}
	c := *h
	if len(h.groups) == 0 {
		c.next = h.next.WithAttrs(attrs)
		if slices.ContainsFunc(attrs, func(a slog.Attr) bool { return a.Key == "service" }) {
			c.service = ""
		}
		return &c
	}
	c.groups = slices.Clone(h.groups)
	last := &c.groups[len(c.groups)-1]
	last.attrs = append(slices.Clip(last.attrs), attrs...)
	return &c
}

func (h *traceHandler) WithGroup(name string) slog.Handler {
	if name == "" {
		return h
	}
	c := *h
	c.groups = append(slices.Clip(h.groups), group{name: name})
	return &c
}

func (h *traceHandler) Handle(ctx context.Context, r slog.Record) error {
	out := slog.NewRecord(r.Time, r.Level, r.Message, r.PC)
	if len(h.groups) == 0 {
		r.Attrs(func(a slog.Attr) bool { out.AddAttrs(a); return true })
	} else {
		attrs := make([]slog.Attr, 0, r.NumAttrs())
		r.Attrs(func(a slog.Attr) bool { attrs = append(attrs, a); return true })
		for i := len(h.groups) - 1; i >= 0; i-- {
			g := h.groups[i]
			attrs = []slog.Attr{slog.Attr{Key: g.name, Value: slog.GroupValue(append(slices.Clip(g.attrs), attrs...)...)}}
		}
		out.AddAttrs(attrs...)
	}
	if h.service != "" {
		out.AddAttrs(slog.String("service", h.service))
	}
	if sc := trace.SpanContextFromContext(ctx); sc.IsValid() {
		out.AddAttrs(slog.String("trace_id", sc.TraceID().String()), slog.String("span_id", sc.SpanID().String()))
	}
	return h.next.Handle(ctx, out)
}
