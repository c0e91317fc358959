package contract

// messagingCatalog lists the events messaging publishes.
var messagingCatalog = []Spec{}
