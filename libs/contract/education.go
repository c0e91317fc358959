package contract

// educationCatalog lists the events education publishes.
var educationCatalog = []Spec{}
