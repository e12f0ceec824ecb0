from tests.storage.conftest import fake, kubeconfig, s3, serve  # noqa: F401  (fixtures)
