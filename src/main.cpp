// comptoir: the single binary. Everything happens in src/app; this only hands argv over.
#include "src/app/cli.h"

int main(int argc, char** argv) { return comptoir::app::run_cli(argc, argv); }
