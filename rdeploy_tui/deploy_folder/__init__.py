"""The deploy folder of Microsoft's how-to, written from a DeploySpec (the files users can read and keep).

render.py        DeploySpec -> docker-context/Dockerfile, docker-context/start_plumber.R, src/plumber.R (+ the model
                 library src/rdeploy_model.R), endpoint.yml, deployment.yml, sample-request.json; the content-hash tag
templates.py     where the shipped templates live (assets/, docker-context-template/)
sample_model.py  the sample crate.bin that lets the local run and the sandbox work before the user has a model
"""
