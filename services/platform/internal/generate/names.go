package generate

import "github.com/attest-ehr/attest/libs/contract"

// Small fixed tables the generator draws from. The names are common given names and
// surnames combined at random: no real person is described.
var (
	givenFemale = []string{"Ann", "Maria", "Linda", "Grace", "Rosa", "Mei", "Aisha", "Olga", "Ingrid", "Priya",
		"Fatima", "Claire", "Nora", "Lucia", "Hana", "Zoe", "Ruth", "Elena", "Amara", "Jun"}
	givenMale = []string{"John", "Carlos", "Wei", "Ahmed", "Ivan", "Luis", "Samuel", "Kenji", "Omar", "Peter",
		"Ravi", "Tomas", "Noah", "Felix", "Kwame", "Diego", "Arjun", "Leon", "Hugo", "Malik"}
	surnames = []string{"Example", "Sample", "Rivera", "Chen", "Okafor", "Novak", "Haddad", "Larsen", "Patel",
		"Moreau", "Silva", "Tanaka", "Kowalski", "Nguyen", "Fischer", "Mensah", "Costa", "Ibrahim", "Lindqvist",
		"Romero", "Sato", "Kaur", "Bauer", "Dubois", "Adeyemi", "Petrov", "Alvarez", "Kim", "Olsen", "Reyes"}
	places = []string{"Riverside", "Oak Hill", "Lakeview", "Cedar Park", "Northgate", "Harbor", "Elm Street",
		"Westfield", "Summit", "Meadowbrook", "Pine Ridge", "Eastside", "Mill Creek", "Bayview", "Stonebridge"}

	// labs are laboratory tests (LOINC, with a plausible value and unit).
	labs = []struct {
		code, unit string
		low, high  float64
	}{
		{"2345-7", "mg/dL", 70, 180},   // glucose
		{"4548-4", "%", 4.5, 10},       // hemoglobin A1c
		{"2093-3", "mg/dL", 120, 280},  // cholesterol
		{"718-7", "g/dL", 10, 17},      // hemoglobin
		{"2160-0", "mg/dL", 0.6, 2.0},  // creatinine
		{"6690-2", "10*3/uL", 3.5, 12}, // leukocytes
	}
	// drugs are common maintenance drugs (RxNorm); controlled are scheduled ones.
	drugs      = []string{"860975", "314076", "197361", "617314", "310798", "866924", "197884", "308136"}
	controlled = []struct{ code, schedule string }{
		{"1049621", contract.ScheduleII}, {"835603", contract.ScheduleIV}, {"197591", contract.ScheduleIV},
		{"1049221", contract.ScheduleII}, {"884386", contract.ScheduleV},
	}
	transports = []string{contract.TransportDirect, contract.TransportDirect, contract.TransportHIE,
		contract.TransportFHIR, contract.TransportTEFCA}
)
