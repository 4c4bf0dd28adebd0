module floe.dev/floe/integration

go 1.26.8

require (
	floe.dev/floe/sdk/go v0.0.0
	floe.dev/floe/services/featureserver v0.0.0
)

replace (
	floe.dev/floe/sdk/go => ../sdk/go
	floe.dev/floe/services/featureserver => ../services/featureserver
)
