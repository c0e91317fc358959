package engagement_test

import (
	"context"
	"fmt"
	"log/slog"
	"os"
	"strconv"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/attest-ehr/attest/libs/calendar"
	"github.com/attest-ehr/attest/libs/contract"
	"github.com/attest-ehr/attest/libs/event"
	"github.com/attest-ehr/attest/libs/store"
	"github.com/attest-ehr/attest/libs/store/storetest"
	"github.com/attest-ehr/attest/services/metrics/internal/engagement"
)

// BenchmarkKPIPage is what the console's engagement page asks metrics for: the year's
// KPIs by clinic, by clinic and clinician, and by week and clinic, on a year of KPI
// rows for ATTEST_KPI_PATIENTS patients (default 2,000; about 30 rows each). One op is
// one page (three reports).
//
//	read=scan      the three reports computed from the rows, one after another (before kept reports)
//	read=kept      the three asked at once with the rows unchanged since the last page
//	read=changed   one event handled before each page, then the three asked at once
//
// cpu-ms/op is the process's CPU time (getrusage) per page: the machine's load does not
// inflate it.
func BenchmarkKPIPage(b *testing.B) {
	patients := 2000
	if v := os.Getenv("ATTEST_KPI_PATIENTS"); v != "" {
		n, err := strconv.Atoi(v)
		if err != nil || n < 1 {
			b.Fatalf("ATTEST_KPI_PATIENTS: want a positive number, got %q", v)
		}
		patients = n
	}
	for _, d := range []store.Dialect{store.SQLite, store.Postgres} {
		b.Run(string(d), func(b *testing.B) {
			ctx := context.Background()
			db := storetest.Open(b, d, storetest.Service)
			if err := db.Migrate(ctx, engagement.Migrations()); err != nil {
				b.Fatal(err)
			}
			k := engagement.NewKeeper(db, calendar.New(time.UTC), engagement.DefaultHours, nil, slog.New(slog.DiscardHandler))
			loadYear(b, k, patients)
			from, to := at("2025-01-01T00:00:00Z"), at("2025-12-31T00:00:00Z")
			views := [][]string{{engagement.ByClinic}, {engagement.ByClinic, engagement.ByClinician},
				{engagement.ByWeek, engagement.ByClinic}}
			page := func(b *testing.B) {
				var wg sync.WaitGroup
				for _, by := range views {
					wg.Go(func() {
						if _, err := k.Report(ctx, from, to, by); err != nil {
							b.Error(err)
						}
					})
				}
				wg.Wait()
			}
			b.Run("read=scan", func(b *testing.B) {
				cpu := cpuTime(b)
				for b.Loop() {
					for _, by := range views {
						if _, err := k.ScanReport(ctx, from, to, by); err != nil {
							b.Fatal(err)
						}
					}
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
			b.Run("read=kept", func(b *testing.B) {
				page(b) // the first page after a change computes them
				cpu := cpuTime(b)
				for b.Loop() {
					page(b)
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
			b.Run("read=changed", func(b *testing.B) {
				cpu := cpuTime(b)
				i := 0
				for b.Loop() {
					i++
					p := fmt.Sprintf("bench-change-%d", i)
					if err := k.Handle(ctx, ev(b, contract.VDTRecorded, p, contract.VDT{VDTID: p, PatientID: p,
						Action: contract.VDTView, Actor: contract.ActorPatient, Occurred: at("2025-06-02T10:00:00Z")})); err != nil {
						b.Fatal(err)
					}
					page(b)
				}
				b.ReportMetric(float64(cpuTime(b)-cpu)/float64(time.Millisecond)/float64(b.N), "cpu-ms/op")
			})
		})
	}
}

// loadYear handles a year of engagement events for n patients, in batches of 500 as
// the consumer does, logging progress.
func loadYear(b *testing.B, k *engagement.Keeper, n int) {
	b.Helper()
	ctx := context.Background()
	start := time.Now()
	var batch []event.Event
	flush := func() {
		if err := k.HandleBatch(ctx, batch); err != nil {
			b.Fatal(err)
		}
		batch = batch[:0]
	}
	day := func(i, d int) time.Time {
		return at("2025-01-06T09:00:00Z").AddDate(0, 0, (i*7+d*29)%350).Add(time.Duration(i%8) * time.Hour)
	}
	for i := range n {
		p := fmt.Sprintf("p%d", i)
		npi := fmt.Sprintf("npi%d", i%40)
		tin := fmt.Sprintf("tin%d", i%4)
		clinic := fmt.Sprintf("c%d", i%4)
		add := func(typ string, payload any) { batch = append(batch, ev(b, typ, p, payload)) }
		add(contract.AccessGrantRecorded, contract.AccessGrant{AccessGrantID: "g" + p, PatientID: p, Kind: contract.AccessVDT,
			Granted: day(i, 0), OptedOut: i%10 == 0, NPI: npi, TIN: tin})
		for j := range 12 {
			add(contract.VDTRecorded, contract.VDT{VDTID: fmt.Sprintf("v%s-%d", p, j), PatientID: p, Action: contract.VDTView,
				Actor: contract.ActorPatient, Occurred: day(i, j+1)})
		}
		for j := range 4 {
			m := fmt.Sprintf("m%s-%d", p, j)
			asked := day(i, j+3)
			add(contract.MessageSent, contract.SecureMessage{MessageID: m, ThreadID: m, PatientID: p, ClinicID: clinic,
				Kind: contract.KindGeneral, Direction: contract.DirectionPatientToProvider, SenderRole: contract.RolePatient,
				SenderID: p, Sent: asked})
			add(contract.MessageSent, contract.SecureMessage{MessageID: "r" + m, ThreadID: m, PatientID: p, ClinicID: clinic,
				Kind: contract.KindGeneral, Direction: contract.DirectionReply, SenderRole: contract.RoleClinician,
				SenderID: npi, NPI: npi, InReplyTo: m, Sent: asked.Add(time.Duration(1+(i+j)%30) * time.Hour)})
			if j < 2 {
				add(contract.RequestAnswered, contract.RequestAnswer{RequestID: m, ThreadID: m, PatientID: p, ClinicID: clinic,
					Kind: contract.KindRefillRequest, Outcome: contract.OutcomeApproved, AnswerMessageID: "r" + m,
					AnsweredByRole: contract.RoleClinician, AnsweredByID: npi, NPI: npi, Answered: asked.Add(2 * time.Hour)})
			}
		}
		for j := range 2 {
			e := fmt.Sprintf("e%s-%d", p, j)
			add(contract.MaterialProvided, contract.MaterialProvision{ProvisionID: e, PatientID: p, MaterialID: "x", Version: 1,
				Language: "en", Channel: contract.ChannelPortal, IdentifiedBySystem: true, ProvidedBy: contract.ProvidedByClinician,
				NPI: npi, Provided: day(i, j+5)})
			add(contract.MaterialViewed, contract.MaterialView{ProvisionID: e, PatientID: p, MaterialID: "x", Version: 1,
				Viewed: day(i, j+6)})
		}
		add(contract.PGHDRecorded, contract.PGHD{PGHDID: "d" + p, PatientID: p, Source: contract.PGHDPatient,
			Incorporated: day(i, 8), NPI: npi, TIN: tin})
		wiped := day(i, 9).Add(time.Hour)
		add(contract.TabletSessionWiped, contract.TabletSession{SessionID: "t" + p, PatientID: p, DeviceID: "d1",
			Started: day(i, 9), Wiped: &wiped, Cleared: []string{"cache", "cookies", "storage", "executionContexts"}})
		if len(batch) >= 500 {
			flush()
		}
		if (i+1)%500 == 0 {
			b.Logf("loaded %d of %d patients (%s)", i+1, n, time.Since(start).Round(time.Second))
		}
	}
	flush()
}

func cpuTime(b *testing.B) time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		b.Fatal(err)
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
