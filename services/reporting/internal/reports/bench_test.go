package reports_test

import (
	"context"
	"fmt"
	"math/rand/v2"
	"os"
	"slices"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/ident"
	"github.com/attest-ehr/attest/libs/measure"
	"github.com/attest-ehr/attest/libs/measure/membership"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/reporting/internal/facts"
	"github.com/attest-ehr/attest/services/reporting/internal/reports"
)

// The benchmark's health system: BENCH_PATIENTS patients in 2025 (default 1,000,000)
// across 500 clinicians in 20 TINs, each patient seen by one clinician, with the facts
// of MIPS PI 2025's four counted measures: PI_PEA_1 (an encounter, shared through VDT
// and API for 85%), PI_EP_1 (a prescription, 70% sent), PI_HIE_1 (10% referred, 60%
// sent) and PI_HIE_4 (5% received, 60% reconciled): some 4.6 facts a patient.
const (
	tins          = 20
	perTIN        = 25
	benchPatients = 1_000_000
)

type benchSystem struct {
	svc        *reports.Service
	store      *facts.Store
	entities   []contract.Entity // the 500 clinicians (tin_npi), then the 20 groups (tin)
	facts      int
	loadTime   time.Duration
	coldAll    time.Duration
	coldAllCPU time.Duration
	changes    int // facts added by the cold variants
}

var (
	benchOnce sync.Once
	benchSys  *benchSystem
	benchErr  error
)

// npis returns n valid NPIs (Luhn check digit over the 80840 prefix).
func npis(n int) []string {
	var out []string
	for base := 123456780; len(out) < n; base++ {
		for d := range 10 {
			s := strconv.Itoa(base) + strconv.Itoa(d)
			if ident.ValidNPI(s) {
				out = append(out, s)
				break
			}
		}
		base += 7
	}
	return out
}

func system(b *testing.B) *benchSystem {
	benchOnce.Do(func() { benchSys, benchErr = build(b) })
	if benchErr != nil {
		b.Fatal(benchErr)
	}
	return benchSys
}

func build(b *testing.B) (*benchSystem, error) {
	ctx := context.Background()
	patients := benchPatients
	if s := os.Getenv("BENCH_PATIENTS"); s != "" {
		n, err := strconv.Atoi(s)
		if err != nil {
			return nil, err
		}
		patients = n
	}
	db := storetest.Open(b, store.SQLite, "reporting")
	if err := db.Migrate(ctx, facts.Migrations()); err != nil {
		return nil, err
	}
	st := facts.NewStore(db, 8_000_000)
	sys := &benchSystem{svc: reports.NewService(computer(b), st), store: st}
	var clinicians []contract.Entity
	ids := npis(tins * perTIN)
	for t := range tins {
		for c := range perTIN {
			clinicians = append(clinicians, ent(fmt.Sprintf("1%08d/%s", t, ids[t*perTIN+c])))
		}
	}
	rng := rand.New(rand.NewPCG(1, 2))
	year := time.Date(2025, 1, 1, 8, 0, 0, 0, time.UTC)
	start := time.Now()
	var batch []membership.Fact
	flush := func() error {
		err := st.InsertFacts(ctx, batch)
		sys.facts += len(batch)
		batch = batch[:0]
		return err
	}
	// Progress on stderr (the benchmark's log shows only at its end): loading 1,000,000
	// patients takes minutes.
	progress := time.Now()
	for p := range patients {
		if time.Since(progress) > 15*time.Second {
			fmt.Fprintf(os.Stderr, "bench: %d of %d patients inserted (%d facts, %v)\n", p, patients, sys.facts, time.Since(start).Round(time.Second))
			progress = time.Now()
		}
		clin := clinicians[p%len(clinicians)]
		pid := fmt.Sprintf("pt-%07d", p)
		f := func(m, object, ref string, role membership.Role, at time.Time) membership.Fact {
			return membership.Fact{Entity: clin, Program: measure.MIPS, Measure: m, Year: 2025, Patient: pid, Object: object,
				Role: role, Ref: ref, At: at, Because: "ev-" + ref + string(role)}
		}
		seen := year.Add(time.Duration(rng.IntN(360*24)) * time.Hour)
		enc := "enc-" + pid
		den := f("PI_PEA_1", "", enc, membership.Denominator, seen)
		den.Deadline = seen.Add(4 * 24 * time.Hour)
		batch = append(batch, den)
		if rng.IntN(100) < 85 {
			for _, ch := range []measure.Channel{measure.VDT, measure.API} {
				a := f("PI_PEA_1", "", "share-"+string(ch)+"-"+pid, membership.Access, seen.Add(20*time.Hour))
				a.For, a.Channel = enc, ch
				batch = append(batch, a)
			}
		}
		for _, m := range []struct {
			id, prefix     string
			share, numPart int
		}{{"PI_EP_1", "rx-", 100, 70}, {"PI_HIE_1", "tr-", 10, 60}, {"PI_HIE_4", "in-", 5, 60}} {
			if rng.IntN(100) >= m.share {
				continue
			}
			obj := m.prefix + pid
			batch = append(batch, f(m.id, obj, obj, membership.Denominator, seen))
			if rng.IntN(100) < m.numPart {
				batch = append(batch, f(m.id, obj, obj+"-done", membership.Numerator, seen.Add(time.Hour)))
			}
		}
		if len(batch) >= 200_000 { // one transaction each
			if err := flush(); err != nil {
				return nil, err
			}
		}
	}
	if err := flush(); err != nil {
		return nil, err
	}
	sys.loadTime = time.Since(start)
	sys.entities = clinicians
	for t := range tins {
		sys.entities = append(sys.entities, contract.Entity{Kind: contract.EntityTIN, ID: fmt.Sprintf("1%08d", t)})
	}
	fmt.Fprintf(os.Stderr, "bench: %d facts inserted in %v; first pass over %d entities…\n", sys.facts, sys.loadTime.Round(time.Second), len(sys.entities))
	start, cpu0 := time.Now(), cpuTime()
	for _, e := range sys.entities { // the first pass reads every series from the database
		if _, err := sys.svc.Report(ctx, query(e)); err != nil {
			return nil, err
		}
	}
	sys.coldAll, sys.coldAllCPU = time.Since(start), cpuTime()-cpu0
	return sys, nil
}

// cpuTime is the CPU time the process has used (user + system): under a loaded
// machine it says what a report costs, where wall time says how long it waited.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

func percentile(ds []time.Duration, p float64) time.Duration {
	slices.Sort(ds)
	return ds[min(len(ds)-1, int(float64(len(ds))*p))]
}

// BenchmarkReport measures full reports (every measure of MIPS PI 2025, with member
// lists or numbers only, the rule book and the positions check) per clinician and per
// group of 25 clinicians (cpu-ms and its p50/p99 are process CPU per report, p50-ms and
// p99-ms wall time per report), and all 520 entities one after another, in three
// states of what is kept:
//
//   - warm: nothing changed since the report was last computed (its inputs are kept);
//   - cold: one fact was just added to the entity's series (for a group, to one of its
//     clinicians', in turn): the first computation after a change, which reloads that
//     series and recounts that clinician, the group merging the others' remembered
//     members — what the p99 target is about;
//   - recount: a new as-of moment each time, so nothing computed before applies: every
//     series of the entity counted again from the cached columns (a new period or
//     as-of, or a restart after the columns were loaded).
func BenchmarkReport(b *testing.B) {
	sys := system(b)
	ctx := context.Background()
	b.Logf("%d facts loaded in %v; first pass over all %d entities (every series read from the database) %v wall, %v CPU",
		sys.facts, sys.loadTime, len(sys.entities), sys.coldAll, sys.coldAllCPU)
	// Each iteration reports a fixed sample (100 clinicians spread over the groups;
	// every group), so percentiles have enough samples whatever -benchtime is.
	var sample []contract.Entity
	for i := range 100 {
		sample = append(sample, sys.entities[(i*37)%(tins*perTIN)])
	}
	asOf := time.Date(2026, 3, 1, 0, 0, 0, 0, time.UTC) // after every deadline: the numbers do not move with it
	for _, lists := range []bool{true, false} {
		kind := "lists"
		if !lists {
			kind = "json"
		}
		for _, state := range []string{"warm", "cold", "recount"} {
			q := func(e contract.Entity) reports.Query {
				x := query(e)
				x.WithoutLists, x.NumbersOnly = !lists, !lists // the JSON report: numbers only
				if state == "recount" {
					asOf = asOf.Add(time.Second)
					x.AsOf = asOf
				}
				return x
			}
			prepare := func(e contract.Entity) error {
				if state != "cold" {
					return nil
				}
				return sys.change(ctx, e)
			}
			for _, bc := range []struct {
				name     string
				entities []contract.Entity
			}{
				{"clinician", sample},
				{"group", sys.entities[tins*perTIN:]},
			} {
				b.Run(kind+"/"+state+"/"+bc.name, func(b *testing.B) {
					if state == "warm" { // computed once first: what is measured is a report seen before
						for _, e := range bc.entities {
							if _, err := sys.svc.Report(ctx, q(e)); err != nil {
								b.Fatal(err)
							}
						}
					}
					var walls, cpus []time.Duration
					for b.Loop() {
						for _, e := range bc.entities {
							if err := prepare(e); err != nil {
								b.Fatal(err)
							}
							cpu, t := cpuTime(), time.Now()
							if _, err := sys.svc.Report(ctx, q(e)); err != nil {
								b.Fatal(err)
							}
							walls, cpus = append(walls, time.Since(t)), append(cpus, cpuTime()-cpu)
						}
					}
					var total time.Duration
					for _, c := range cpus {
						total += c
					}
					b.ReportMetric(float64(total.Microseconds())/1000/float64(len(cpus)), "cpu-ms/report")
					b.ReportMetric(ms(percentile(cpus, 0.5)), "cpu-p50-ms")
					b.ReportMetric(ms(percentile(cpus, 0.99)), "cpu-p99-ms")
					b.ReportMetric(ms(percentile(walls, 0.5)), "p50-ms")
					b.ReportMetric(ms(percentile(walls, 0.99)), "p99-ms")
				})
			}
			if state == "cold" {
				continue // all 520 after a change each is the cold rows above, 520 times
			}
			b.Run(kind+"/"+state+"/all-520", func(b *testing.B) {
				if state == "warm" {
					for _, e := range sys.entities {
						if _, err := sys.svc.Report(ctx, q(e)); err != nil {
							b.Fatal(err)
						}
					}
				}
				cpu0, n := cpuTime(), 0
				defer func() { b.ReportMetric(float64((cpuTime()-cpu0).Milliseconds())/float64(max(n, 1)), "cpu-ms/op") }()
				for b.Loop() {
					n++
					for _, e := range sys.entities {
						if _, err := sys.svc.Report(ctx, q(e)); err != nil {
							b.Fatal(err)
						}
					}
				}
			})
		}
	}
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) == nil {
		b.Logf("max RSS %d MB; %d facts added by the cold variants", ru.Maxrss/1024, sys.changes)
	}
}

func ms(d time.Duration) float64 { return float64(d.Microseconds()) / 1000 }

// change adds one fact to entity e's PI_EP_1 series (for a group, to one of its
// clinicians', in turn): a new prescription of a new patient, not sent.
func (sys *benchSystem) change(ctx context.Context, e contract.Entity) error {
	clin := e
	if e.Kind == contract.EntityTIN {
		for i, c := range sys.entities[:tins*perTIN] {
			if facts.Belongs(c, e) && i%perTIN == sys.changes%perTIN {
				clin = c
			}
		}
	}
	sys.changes++
	id := fmt.Sprintf("chg-%07d", sys.changes)
	return sys.store.InsertFacts(ctx, []membership.Fact{{Entity: clin, Program: measure.MIPS, Measure: "PI_EP_1",
		Year: 2025, Patient: "pt-" + id, Object: "rx-" + id, Role: membership.Denominator, Ref: "rx-" + id,
		At: time.Date(2025, 6, 1, 9, 0, 0, 0, time.UTC), Because: "ev-" + id}})
}
