package gateway_test

import (
	"go/ast"
	"go/parser"
	"go/token"
	"io/fs"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"

	"github.com/attest-ehr/attest/services/gateway"
	"github.com/attest-ehr/attest/services/gateway/internal/policy"
)

// The route inventory reads the services' source: the gateway may not import
// another service, and a ServeMux cannot list its patterns. It finds
//
//   - every route pattern written as a string literal ("GET /v1/x/{id}"): in a
//     mux.Handle call, a helper's argument or a route table;
//   - routes a shared library registers for a service (httpapi.Health,
//     patientdir's Routes), when the service's file imports it and calls it;
//   - routes built by a generator — a function whose patterns are concatenations of
//     literals, a resource kind's Path and its own parameters (records'
//     resource.Kind.Routes, ItemRoutes and resource.Action) — expanded for every kind
//     (a Path: "…" literal assigned to s.<Kind>) and every call.
//
// A pattern it cannot work out is an error: the inventory would miss a route.

// repo is the repository root, seen from this package's directory.
const repo = "../.."

// routePattern is a ServeMux pattern with a method, as every API route is written.
var routePattern = regexp.MustCompile(`^(GET|HEAD|POST|PUT|PATCH|DELETE|OPTIONS) /[^ ]*$`)

// route is one route found in source.
type route struct {
	pattern string
	at      string // file:line, for the failure message
}

// generator is a function that registers patterns built from {path} and its
// parameters ({name}).
type generator struct {
	params    []string
	templates []route
	calls     []string // generators it calls on the same receiver
}

type file struct {
	path string
	ast  *ast.File
}

func parseDir(t *testing.T, fset *token.FileSet, dir string) []file {
	t.Helper()
	var out []file
	err := filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == "cmd" || d.Name() == "testdata" || d.Name() == "node_modules") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(path, ".go") || strings.HasSuffix(path, "_test.go") {
			return nil
		}
		f, err := parser.ParseFile(fset, path, nil, parser.SkipObjectResolution)
		if err != nil {
			return err
		}
		out = append(out, file{path, f})
		return nil
	})
	if err != nil {
		t.Fatalf("read %s: %v", dir, err)
	}
	return out
}

// eval works out a pattern expression: literals, concatenation, locals bound with
// :=, X.Path as {path} and parameters as {name}.
func eval(e ast.Expr, locals map[string]ast.Expr, params []string) (string, bool) {
	switch e := e.(type) {
	case *ast.BasicLit:
		s, err := strconv.Unquote(e.Value)
		return s, err == nil && e.Kind == token.STRING
	case *ast.BinaryExpr:
		x, ok1 := eval(e.X, locals, params)
		y, ok2 := eval(e.Y, locals, params)
		return x + y, ok1 && ok2 && e.Op == token.ADD
	case *ast.SelectorExpr:
		return "{path}", e.Sel.Name == "Path"
	case *ast.Ident:
		if v, ok := locals[e.Name]; ok {
			return eval(v, locals, params)
		}
		return "{" + e.Name + "}", slices.Contains(params, e.Name)
	}
	return "", false
}

func paramNames(fn *ast.FuncDecl) []string {
	var out []string
	for _, f := range fn.Type.Params.List {
		for _, n := range f.Names {
			out = append(out, n.Name)
		}
	}
	return out
}

// source is what a directory's files register, call and define.
type source struct {
	literals   []route
	generators map[string]*generator
	kinds      map[string]string // s.<Kind> → its Path
	uses       []use             // calls of generators
	imports    map[string]map[string]bool
	calls      map[string]map[string]bool // file → names called as x.Name(…)
	byFunc     map[string][]route         // function name → literal patterns it registers (for libraries)
	unseen     []string                   // positions of patterns the scan cannot work out
}

type use struct {
	gen  string
	kind string   // the s.<Kind> the generator is called on or given
	args []string // literal arguments by position ("" when not a literal)
	at   string
}

func scanSource(t *testing.T, dir string) source {
	t.Helper()
	fset := token.NewFileSet()
	src := source{generators: map[string]*generator{}, kinds: map[string]string{}, imports: map[string]map[string]bool{},
		calls: map[string]map[string]bool{}, byFunc: map[string][]route{}}
	for _, f := range parseDir(t, fset, dir) {
		src.imports[f.path], src.calls[f.path] = map[string]bool{}, map[string]bool{}
		for _, imp := range f.ast.Imports {
			p, _ := strconv.Unquote(imp.Path.Value)
			src.imports[f.path][p] = true
		}
		for _, decl := range f.ast.Decls {
			fn, ok := decl.(*ast.FuncDecl)
			if ok {
				scanFunc(fset, f.path, fn, &src)
			}
		}
	}
	return src
}

func scanFunc(fset *token.FileSet, path string, fn *ast.FuncDecl, src *source) {
	locals := map[string]ast.Expr{}
	params := paramNames(fn)
	partial := map[ast.Node]bool{} // literals that are pieces of a concatenation
	pos := func(n ast.Node) string { return fset.Position(n.Pos()).String() }
	ast.Inspect(fn, func(n ast.Node) bool {
		switch n := n.(type) {
		case *ast.BinaryExpr:
			partial[n.X], partial[n.Y] = true, true
		case *ast.AssignStmt:
			if len(n.Lhs) == 1 && len(n.Rhs) == 1 {
				if id, ok := n.Lhs[0].(*ast.Ident); ok && n.Tok == token.DEFINE {
					locals[id.Name] = n.Rhs[0]
				}
				if sel, ok := n.Lhs[0].(*ast.SelectorExpr); ok {
					if p := kindPath(n.Rhs[0]); p != "" {
						src.kinds[sel.Sel.Name] = p
					}
				}
			}
		case *ast.BasicLit:
			if s, err := strconv.Unquote(n.Value); err == nil && !partial[n] && routePattern.MatchString(s) {
				r := route{pattern: s, at: pos(n)}
				src.literals = append(src.literals, r)
				src.byFunc[fn.Name.Name] = append(src.byFunc[fn.Name.Name], r)
			}
		case *ast.CallExpr:
			sel, ok := n.Fun.(*ast.SelectorExpr)
			if !ok {
				return true
			}
			src.calls[path][sel.Sel.Name] = true
			scanCall(pos(n), fn, sel, n, locals, params, src)
		}
		return true
	})
}

// kindPath returns the Path literal of a resource kind's definition, if e is one.
func kindPath(e ast.Expr) string {
	var path string
	ast.Inspect(e, func(n ast.Node) bool {
		if kv, ok := n.(*ast.KeyValueExpr); ok {
			if k, ok := kv.Key.(*ast.Ident); ok && k.Name == "Path" {
				if lit, ok := kv.Value.(*ast.BasicLit); ok {
					path, _ = strconv.Unquote(lit.Value)
				}
			}
		}
		return path == ""
	})
	return path
}

func scanCall(at string, fn *ast.FuncDecl, sel *ast.SelectorExpr, call *ast.CallExpr, locals map[string]ast.Expr, params []string, src *source) {
	name := sel.Sel.Name
	// A call of a generator: s.Kind.Routes(…), or pkg.Action(…, s.Kind, "name", …).
	u := use{gen: name, at: at}
	if x, ok := sel.X.(*ast.SelectorExpr); ok {
		u.kind = x.Sel.Name
	}
	for _, a := range call.Args {
		lit, _ := eval(a, nil, nil)
		u.args = append(u.args, lit)
		if x, ok := a.(*ast.SelectorExpr); ok && u.kind == "" {
			u.kind = x.Sel.Name
		}
	}
	src.uses = append(src.uses, u)
	// A generator calling another on its receiver: k.ItemRoutes(…).
	if id, ok := sel.X.(*ast.Ident); ok && fn.Recv != nil && name != "Handle" && name != "HandleFunc" {
		if recv := fn.Recv.List[0].Names; len(recv) == 1 && recv[0].Name == id.Name {
			g := src.generator(fn)
			g.calls = append(g.calls, name)
		}
	}
	if (name != "Handle" && name != "HandleFunc") || len(call.Args) != 2 {
		return
	}
	arg := call.Args[0]
	if _, ok := arg.(*ast.BasicLit); ok {
		return // a literal, seen as one
	}
	if id, ok := arg.(*ast.Ident); ok {
		if _, local := locals[id.Name]; !local {
			return // a helper's parameter or a table's field: its literals are found where written
		}
	}
	if _, isField := arg.(*ast.SelectorExpr); isField {
		return // a route table's field, e.g. r.pattern
	}
	if p, ok := eval(arg, locals, params); ok && strings.Contains(p, "{path}") && routePattern.MatchString(p) {
		g := src.generator(fn)
		g.templates = append(g.templates, route{pattern: p, at: at})
		return
	}
	src.unseen = append(src.unseen, at)
}

func (src *source) generator(fn *ast.FuncDecl) *generator {
	g, ok := src.generators[fn.Name.Name]
	if !ok {
		g = &generator{params: paramNames(fn)}
		src.generators[fn.Name.Name] = g
	}
	return g
}

// expand returns the patterns generator name registers for kind path, with args
// filling its parameters.
func (src *source) expand(name, path string, args []string, at string) []route {
	g := src.generators[name]
	var out []route
	for _, tmpl := range g.templates {
		p := strings.ReplaceAll(tmpl.pattern, "{path}", path)
		for i, param := range g.params {
			if i < len(args) && args[i] != "" {
				p = strings.ReplaceAll(p, "{"+param+"}", args[i])
			}
		}
		out = append(out, route{pattern: p, at: at})
	}
	for _, c := range g.calls {
		if _, ok := src.generators[c]; ok {
			out = append(out, src.expand(c, path, args, at)...)
		}
	}
	return out
}

// servedRoutes is every route the service under dir serves.
func servedRoutes(t *testing.T, dir string, libs source) []route {
	t.Helper()
	src := scanSource(t, dir)
	for _, p := range src.unseen {
		t.Errorf("%s: a route pattern the inventory cannot work out; write it as a literal (a route table is fine)", p)
	}
	out := slices.Clone(src.literals)
	for _, u := range src.uses {
		path, isKind := src.kinds[u.kind]
		if _, isGen := src.generators[u.gen]; isGen && isKind {
			out = append(out, src.expand(u.gen, path, u.args, u.at)...)
		}
	}
	for file, imports := range src.imports {
		for lib, funcs := range libRegistrations(libs) {
			if !imports[lib] {
				continue
			}
			for fn, rs := range funcs {
				if src.calls[file][fn] {
					out = append(out, rs...)
				}
			}
		}
	}
	// A pattern registered by two files (say, the same helper twice) is one route.
	slices.SortFunc(out, func(a, b route) int { return strings.Compare(a.pattern, b.pattern) })
	return slices.CompactFunc(out, func(a, b route) bool { return a.pattern == b.pattern })
}

// libRegistrations maps each shared library to its functions that register routes.
func libRegistrations(libs source) map[string]map[string][]route {
	out := map[string]map[string][]route{}
	for fn, rs := range libs.byFunc {
		for _, r := range rs {
			dir := filepath.Base(filepath.Dir(strings.Split(r.at, ":")[0]))
			lib := "github.com/attest-ehr/attest/libs/" + dir
			if out[lib] == nil {
				out[lib] = map[string][]route{}
			}
			out[lib][fn] = append(out[lib][fn], r)
		}
	}
	return out
}

// scanLibs reads the shared libraries but app (whose mux is the process's).
func scanLibs(t *testing.T) source {
	t.Helper()
	all := source{byFunc: map[string][]route{}}
	entries, err := os.ReadDir(filepath.Join(repo, "libs"))
	if err != nil {
		t.Fatal(err)
	}
	for _, e := range entries {
		if !e.IsDir() || e.Name() == "app" {
			continue
		}
		for fn, rs := range scanSource(t, filepath.Join(repo, "libs", e.Name())).byFunc {
			all.byFunc[fn] = append(all.byFunc[fn], rs...)
		}
	}
	return all
}

// TestEveryRouteHasAPolicy enumerates every route each routed service serves and
// fails when one has no rule in the policy table — or a rule names a route no
// service serves. The gateway's own pages and API are registered from the table
// itself (gateway.New fails on a rule without a handler or a handler without a
// rule), so they cannot drift.
func TestEveryRouteHasAPolicy(t *testing.T) {
	libs := scanLibs(t)
	rules := map[string][]string{}
	for _, r := range policy.Rules() {
		rules[r.Service] = append(rules[r.Service], r.Pattern)
	}
	total := 0
	for _, svc := range gateway.Services {
		var patterns []string
		for _, r := range servedRoutes(t, filepath.Join(repo, "services", svc), libs) {
			total++
			patterns = append(patterns, r.pattern)
			if !slices.Contains(rules[svc], r.pattern) {
				t.Errorf("%s: %s %q has no policy. Add to services/gateway/internal/policy/rules.go\n"+
					"\t\t{Service: %q, Pattern: %q, Action: \"%s.…\", Roles: map[principal.Kind]Scope{…}},\n"+
					"and its row to the expected matrix in policy_test.go", r.at, svc, r.pattern, svc, r.pattern, svc)
			}
		}
		for _, p := range rules[svc] {
			if !slices.Contains(patterns, p) {
				t.Errorf("policy rule %s %q names a route %s does not serve", svc, p, svc)
			}
		}
	}
	// Routes of every kind the scan must see, or it is broken: a literal, a generated
	// route and a generated action, and routes a library registers.
	for svc, want := range map[string][]string{
		"records":   {"POST /v1/tablet-sessions", "GET /v1/patients/{id}", "POST /v1/transitions/{id}/summarize", "GET /healthz"},
		"messaging": {"GET /v1/patients/{id}", "GET /readyz"},
		"reporting": {"GET /v1/patients-seen"},
	} {
		served := servedRoutes(t, filepath.Join(repo, "services", svc), libs)
		for _, w := range want {
			if !slices.ContainsFunc(served, func(r route) bool { return r.pattern == w }) {
				t.Errorf("the inventory does not see %s %q; the scan is broken", svc, w)
			}
		}
	}
	t.Logf("%d service routes found", total)
}
