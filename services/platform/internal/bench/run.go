package bench

import (
	"context"
	"fmt"
	"io"
	"io/fs"
	"net/url"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"

	"github.com/jackc/pgx/v5"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/progress"
	"github.com/attest-ehr/attest/services/platform/internal/generate"
)

// Config is one tier's run.
type Config struct {
	Seed     uint64
	Patients int
	Year     int
	// AdminURL is a PostgreSQL URL of a database to create and drop Database from.
	AdminURL string
	Database string // the dedicated bench database, dropped and created; default attest_bench
	WorkDir  string // generated files and the platform's data directory
	// Windows is how many 90-day and how many 180-day windows the any-window workload
	// runs per contestant (evenly spread; 0 = every window of the year).
	Windows   int
	Freshness int // freshness probes for C; default 20
	Progress  io.Writer
}

// Phase is one measured step of one contestant.
type Phase struct {
	Wall     time.Duration
	CPU      time.Duration // this process (getrusage)
	PGCPU    time.Duration // PostgreSQL: the contestant's backend (A, B) or every postgres process (C)
	Items    int64         // what it handled (events, reports), for rates
	Note     string
	MaxRSSKB int64
}

// Tier is the measurements of one tier.
type Tier struct {
	Config   Config
	Lines    int64 // generated request bodies: the events
	Patients int
	Entities map[string]int
	Keys     int // numbers compared (measure × entity)
	Phases   map[string]Phase
	Fresh    []time.Duration
	Bytes    map[string]int64 // on disk: A/B tables, A itemization, C databases, C broker log
	Agree    []string         // what was compared and agreed
	Differ   []string         // the first differences; empty when all agree
	Replay   string
	// Year is the whole-year results every contestant agreed on (or B's, when they did not).
	Year Results
}

func rusage() (time.Duration, int64) {
	var ru syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru)
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano()), ru.Maxrss
}

// procCPU is the CPU time of process pid, or of every postgres process when pid is 0.
func procCPU(pid int) time.Duration {
	var pids []string
	if pid > 0 {
		pids = []string{strconv.Itoa(pid)}
	} else {
		ents, _ := os.ReadDir("/proc")
		for _, e := range ents {
			if comm, err := os.ReadFile(filepath.Join("/proc", e.Name(), "comm")); err == nil && strings.TrimSpace(string(comm)) == "postgres" {
				pids = append(pids, e.Name())
			}
		}
	}
	var ticks int64
	for _, p := range pids {
		b, err := os.ReadFile(filepath.Join("/proc", p, "stat"))
		if err != nil {
			continue
		}
		s := string(b)
		f := strings.Fields(s[strings.LastIndexByte(s, ')')+2:])
		if len(f) > 12 {
			u, _ := strconv.ParseInt(f[11], 10, 64)
			st, _ := strconv.ParseInt(f[12], 10, 64)
			ticks += u + st
		}
	}
	return time.Duration(ticks) * 10 * time.Millisecond // USER_HZ = 100
}

// measure runs f and records it as phase name.
func (t *Tier) measure(name string, pgPID int, items int64, f func() error) error {
	cpu0, _ := rusage()
	pg0 := procCPU(pgPID)
	start := time.Now()
	err := f()
	wall := time.Since(start)
	cpu1, rss := rusage()
	t.Phases[name] = Phase{Wall: wall, CPU: cpu1 - cpu0, PGCPU: procCPU(pgPID) - pg0, Items: items, MaxRSSKB: rss}
	if err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	return nil
}

func (t *Tier) setItems(name string, n int64) {
	p := t.Phases[name]
	p.Items = n
	t.Phases[name] = p
}

func dirSize(dir string) int64 {
	var n int64
	_ = filepath.WalkDir(dir, func(_ string, d fs.DirEntry, err error) error {
		if err == nil && !d.IsDir() {
			if fi, err := d.Info(); err == nil {
				n += fi.Size()
			}
		}
		return nil
	})
	return n
}

// dbURL is AdminURL with its database replaced.
func dbURL(admin, db string) (string, error) {
	u, err := url.Parse(admin)
	if err != nil {
		return "", err
	}
	u.Path = "/" + db
	return u.String(), nil
}

// Run runs one tier: generate, the three contestants, the comparisons and the
// measurements. An error is returned for a failure; disagreements are in Tier.Differ.
func Run(ctx context.Context, cfg Config) (*Tier, error) {
	if cfg.Database == "" {
		cfg.Database = "attest_bench"
	}
	if cfg.Year == 0 {
		cfg.Year = 2021
	}
	if cfg.Freshness == 0 {
		cfg.Freshness = 20
	}
	t := &Tier{Config: cfg, Phases: map[string]Phase{}, Bytes: map[string]int64{}, Entities: map[string]int{}}
	pw := cfg.Progress
	meter := func(label string, total int64, unit string) *progress.Meter {
		if pw == nil {
			return nil
		}
		return progress.Start(pw, progress.Config{Label: label, Total: total, Unit: unit})
	}
	done := func(m *progress.Meter) {
		if m != nil {
			m.Done()
		}
	}

	// The dedicated database, fresh.
	admin, err := pgx.Connect(ctx, cfg.AdminURL)
	if err != nil {
		return nil, fmt.Errorf("connect to PostgreSQL: %w", err)
	}
	ident := pgx.Identifier{cfg.Database}.Sanitize()
	_, err = admin.Exec(ctx, "DROP DATABASE IF EXISTS "+ident+" WITH (FORCE)")
	if err == nil {
		_, err = admin.Exec(ctx, "CREATE DATABASE "+ident)
	}
	admin.Close(ctx)
	if err != nil {
		return nil, fmt.Errorf("create database %s: %w", cfg.Database, err)
	}
	benchURL, err := dbURL(cfg.AdminURL, cfg.Database)
	if err != nil {
		return nil, err
	}

	// Generate.
	genDir := filepath.Join(cfg.WorkDir, "generated")
	// A kept work directory resumes a long tier: files generated before with the same
	// seed, size and year are used again (the generator is deterministic).
	marker := filepath.Join(genDir, "complete")
	want := fmt.Sprintf("seed=%d patients=%d year=%d", cfg.Seed, cfg.Patients, cfg.Year)
	if b, err := os.ReadFile(marker); err == nil {
		var lines int64
		if _, err := fmt.Sscanf(strings.TrimPrefix(string(b), want), " lines=%d", &lines); err == nil && strings.HasPrefix(string(b), want+" ") {
			t.Lines = lines
			if pw != nil {
				fmt.Fprintf(pw, "generating: %d lines generated before in %s, used again\n", lines, genDir)
			}
		}
	}
	if err := t.measure("generate", 0, 0, func() error {
		if t.Lines > 0 {
			return nil
		}
		_ = os.Remove(marker)
		dir, err := generate.CreateDir(genDir)
		if err != nil {
			return err
		}
		if err := dir.WithImportFile(); err != nil { // C's one bulk import
			return errorsJoin(err, dir.Close())
		}
		m := meter("generating", 0, "lines")
		n, err := generate.Generate(ctx, generate.Config{Seed: cfg.Seed, Patients: cfg.Patients, Year: cfg.Year}, dir, m)
		done(m)
		if err = errorsJoin(err, dir.Close()); err != nil {
			return err
		}
		edges, err := AddEdges(genDir, cfg.Year)
		t.Lines = n + edges
		if err != nil {
			return err
		}
		return os.WriteFile(marker, []byte(fmt.Sprintf("%s lines=%d\n", want, t.Lines)), 0o644)
	}); err != nil {
		return nil, err
	}
	t.setItems("generate", t.Lines)

	// A and B: read the files and load the EHR tables.
	conn, err := pgx.Connect(ctx, benchURL)
	if err != nil {
		return nil, err
	}
	defer conn.Close(context.WithoutCancel(ctx))
	if _, err := conn.Exec(ctx, "SET TimeZone = 'UTC'"); err != nil {
		return nil, err
	}
	pgPID := int(conn.PgConn().PID())
	var data *Data
	if err := t.measure("AB ingest", pgPID, t.Lines, func() error {
		m := meter("loading EHR tables (COPY)", t.Lines, "lines")
		data, err = Load(ctx, conn, genDir, m)
		done(m)
		return err
	}); err != nil {
		return nil, err
	}
	t.Patients = data.Patients
	for k, v := range data.Entities {
		t.Entities[k] = len(v)
	}
	if err := t.measure("B prepare", pgPID, 0, func() error { return PrepareSet(ctx, conn, cfg.Year) }); err != nil {
		return nil, err
	}
	t.Bytes["A/B EHR tables"], err = schemaBytes(ctx, conn, "ehr")
	if err != nil {
		return nil, err
	}

	specs := Specs()
	year := Year(cfg.Year)
	var total int64
	for _, s := range specs {
		total += int64(len(data.Entities[s.Kind]))
	}
	t.Keys = int(total)

	// B, cold then warm.
	var resB Results
	for _, phase := range []string{"B report all (cold)", "B report all (warm)"} {
		if err := t.measure(phase, pgPID, total, func() error {
			resB, err = RunSet(ctx, conn, specs, data.Entities, cfg.Year, year)
			return err
		}); err != nil {
			return nil, err
		}
	}

	// A: the whole report, then one clinician.
	o := &OpenEMR{Conn: conn, Cal: calendar.New(time.UTC), Year: cfg.Year}
	if err := o.Prepare(ctx); err != nil {
		return nil, err
	}
	var resA Results
	if err := t.measure("A report all", pgPID, total, func() error {
		m := meter("A: OpenEMR-style report", total-tinKeys(specs, data.Entities), "entity-measures")
		resA, err = o.Run(ctx, specs, data.Entities, year, m)
		done(m)
		return err
	}); err != nil {
		return nil, err
	}
	t.Bytes["A itemization"], err = relationBytes(ctx, conn, "ehr.report_itemized")
	if err != nil {
		return nil, err
	}
	one, err := busiest(ctx, conn, data)
	if err != nil {
		return nil, err
	}
	oneEnts := Entities{measure.TINNPI: {one}}
	var oneSpecs []Spec
	for _, s := range specs {
		if s.Kind == measure.TINNPI {
			oneSpecs = append(oneSpecs, s)
		}
	}
	if err := t.measure("A report one", pgPID, int64(len(oneSpecs)), func() error {
		_, err := o.Run(ctx, oneSpecs, oneEnts, year, nil)
		return err
	}); err != nil {
		return nil, err
	}

	// C: the platform.
	dataDir := filepath.Join(cfg.WorkDir, "platform")
	_ = os.RemoveAll(dataDir)
	c := &Attest{Year: cfg.Year, Env: map[string]string{"ATTEST_DATA_DIR": dataDir, "ATTEST_HTTP_ADDR": "127.0.0.1:0",
		"DATABASE_URL": benchURL, "LOG_LEVEL": "error", "GATEWAY_DEMO": "true"}}
	if err := c.Start(ctx); err != nil {
		return nil, err
	}
	stopped := false
	defer func() {
		if !stopped {
			_ = c.Stop(context.WithoutCancel(ctx))
		}
	}()
	if err := t.measure("C ingest", 0, t.Lines, func() error {
		_, err := c.Ingest(ctx, genDir, pw)
		return err
	}); err != nil {
		return nil, err
	}
	// One clinician first, cold: the first report read after the ingest.
	if err := t.measure("C report one (cold)", 0, int64(len(oneSpecs)), func() error {
		_, err := c.Report(ctx, oneSpecs, oneEnts, year, true, nil)
		return err
	}); err != nil {
		return nil, err
	}
	var resC Results
	for _, phase := range []string{"C report all (cold)", "C report all (warm)"} {
		if err := t.measure(phase, 0, total, func() error {
			m := meter("C: reports and drill-downs from reporting's API", total, "entity-measures")
			var tick func()
			if m != nil {
				tick = func() { m.Add(1) }
			}
			resC, err = c.Report(ctx, specs, data.Entities, year, true, tick)
			done(m)
			return err
		}); err != nil {
			return nil, err
		}
	}
	if err := t.measure("C report one", 0, int64(len(oneSpecs)), func() error {
		_, err := c.Report(ctx, oneSpecs, oneEnts, year, true, nil)
		return err
	}); err != nil {
		return nil, err
	}
	if err := t.measure("B report one", pgPID, int64(len(oneSpecs)), func() error {
		_, err := RunSet(ctx, conn, oneSpecs, oneEnts, cfg.Year, year)
		return err
	}); err != nil {
		return nil, err
	}

	// The agreement check, whole year.
	t.compare("whole year, every measure and entity", resA, resB, resC)
	t.Year = resB

	// The any-window workload: 90- and 180-day windows, PI_PEA_1 and PI_EP_1 for
	// clinicians and groups.
	var winSpecs []Spec
	for _, s := range specs {
		if (s.ID == "PI_PEA_1" || s.ID == "PI_EP_1" && s.Variant == measure.ControlledIncluded) && (s.Kind == measure.TINNPI || s.Kind == measure.TIN) {
			winSpecs = append(winSpecs, s)
		}
	}
	var windows []Period
	for _, n := range []int{90, 180} {
		windows = append(windows, sample(Windows(cfg.Year, n), cfg.Windows)...)
	}
	var winTotal int64
	for _, s := range winSpecs {
		winTotal += int64(len(data.Entities[s.Kind]))
	}
	winTotal *= int64(len(windows))
	winA, winB, winC := make([]Results, len(windows)), make([]Results, len(windows)), make([]Results, len(windows))
	for _, x := range []struct {
		name string
		pid  int
		f    func(i int, w Period) (Results, error)
		out  []Results
	}{
		{"A any-window", pgPID, func(_ int, w Period) (Results, error) { return o.Run(ctx, winSpecs, data.Entities, w, nil) }, winA},
		{"B any-window", pgPID, func(_ int, w Period) (Results, error) {
			return RunSet(ctx, conn, winSpecs, data.Entities, cfg.Year, w)
		}, winB},
		{"C any-window", 0, func(_ int, w Period) (Results, error) { return c.Report(ctx, winSpecs, data.Entities, w, true, nil) }, winC},
	} {
		if err := t.measure(x.name, x.pid, winTotal, func() error {
			m := meter(x.name, int64(len(windows)), "windows")
			defer done(m)
			for i, w := range windows {
				r, err := x.f(i, w)
				if err != nil {
					return fmt.Errorf("window %s: %w", w, err)
				}
				x.out[i] = r
				if m != nil {
					m.Add(1)
				}
			}
			return nil
		}); err != nil {
			return nil, err
		}
	}
	for i, w := range windows {
		t.compare("window "+w.String()+" (PI_PEA_1, PI_EP_1)", winA[i], winB[i], winC[i])
	}

	// Freshness, after the comparisons (the probes add patients).
	if err := t.measure("C freshness", 0, int64(cfg.Freshness), func() error {
		t.Fresh, err = c.Freshness(ctx, one, cfg.Freshness)
		return err
	}); err != nil {
		return nil, err
	}
	t.Bytes["C databases"], err = platformBytes(ctx, conn)
	if err != nil {
		return nil, err
	}
	t.Bytes["C broker log"] = dirSize(filepath.Join(dataDir, "broker"))
	stopped = true
	if err := c.Stop(ctx); err != nil {
		return nil, err
	}
	if err := t.measure("C replay", 0, 0, func() error {
		st, err := c.Replay(ctx)
		t.Replay = fmt.Sprintf("%d events; the rebuilt state differs from the live one by %d facts added, %d removed",
			st.Events, st.Asserted+st.SeenAsserted, st.Retracted+st.SeenRetracted)
		t.setItems("C replay", int64(st.Events))
		return err
	}); err != nil {
		return nil, err
	}
	return t, nil
}

func errorsJoin(a, b error) error {
	if a != nil {
		return a
	}
	return b
}

// sample picks n evenly spread windows (all when n is 0 or more than there are).
func sample(ws []Period, n int) []Period {
	if n <= 0 || n >= len(ws) {
		return ws
	}
	out := make([]Period, 0, n)
	for i := range n {
		out = append(out, ws[i*(len(ws)-1)/max(n-1, 1)])
	}
	return out
}

// busiest is the clinician (TIN/NPI) of the directory with the most encounters.
func busiest(ctx context.Context, conn *pgx.Conn, d *Data) (string, error) {
	var id string
	err := conn.QueryRow(ctx, `SELECT c.tin || '/' || c.npi FROM ehr.clinicians c
  LEFT JOIN ehr.encounters e ON e.tin = c.tin AND e.npi = c.npi
  GROUP BY c.tin, c.npi ORDER BY count(e.id) DESC, 1 LIMIT 1`).Scan(&id)
	if err != nil {
		return "", fmt.Errorf("the busiest clinician: %w", err)
	}
	return id, nil
}

func (t *Tier) compare(what string, a, b, c Results) {
	d := Diff("A", a, "B", b, 10)
	d = append(d, Diff("B", b, "C", c, 10)...)
	if len(d) == 0 {
		t.Agree = append(t.Agree, fmt.Sprintf("%s: %d numbers", what, len(a)))
		return
	}
	for _, x := range d {
		t.Differ = append(t.Differ, what+": "+x)
	}
}

func schemaBytes(ctx context.Context, conn *pgx.Conn, schema string) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = $1 AND c.relkind IN ('r', 'm')
    AND c.relname <> 'report_itemized'`, schema).Scan(&n)
	return n, err
}

func relationBytes(ctx context.Context, conn *pgx.Conn, rel string) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `SELECT pg_total_relation_size($1::regclass)`, rel).Scan(&n)
	return n, err
}

// platformBytes is the size of every schema the platform created in the bench database.
func platformBytes(ctx context.Context, conn *pgx.Conn) (int64, error) {
	var n int64
	err := conn.QueryRow(ctx, `SELECT COALESCE(sum(pg_total_relation_size(c.oid)), 0)::bigint FROM pg_class c
  JOIN pg_namespace n ON n.oid = c.relnamespace
  WHERE n.nspname NOT IN ('ehr', 'pg_catalog', 'information_schema', 'pg_toast') AND c.relkind IN ('r', 'm')`).Scan(&n)
	return n, err
}

// tinKeys is how many of the numbers are groups' (A reads them from its clinicians' itemization).
func tinKeys(specs []Spec, ents Entities) int64 {
	var n int64
	for _, s := range specs {
		if s.Kind == measure.TIN {
			n += int64(len(ents[s.Kind]))
		}
	}
	return n
}
