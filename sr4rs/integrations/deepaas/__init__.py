"""sr4rs as a DEEPaaS model: ``deepaas-run --model-name sr4rs`` serves predict (super-resolve an uploaded
GeoTIFF or product zip with a model named by the client) and train (on the server's patches) over HTTP.
The entry point is ``sr4rs.integrations.deepaas.model``; docs/deepaas.md tells how to run it safely."""
