package fhir

// register binds every mapped kind. Where several kinds share a FHIR type, the first
// whose match accepts a resource takes it; a binding without a match takes any
// resource of its type, so it comes last.
func (c *Codec) register() {
	c.registerPatients()
	c.registerDirectory()
	c.registerClinical()
	c.registerOrders()
	c.registerExchange()
	c.registerSharing()
}
