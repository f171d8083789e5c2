// Hardhat 2 configuration: compiles contracts/ offline with the local solc-js (npm `solc`),
// the same compiler and settings as `python -m onchain.compile` (onchain/compile.py).
const path = require('path');
const { subtask } = require('hardhat/config');
const { TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD } = require('hardhat/builtin-tasks/task-names');

const SOLC_VERSION = '0.8.37';

// Never download a compiler: hand hardhat the solc-js build from node_modules.
subtask(TASK_COMPILE_SOLIDITY_GET_SOLC_BUILD, async (args, hre, runSuper) => {
  if (args.solcVersion !== SOLC_VERSION) {
    return runSuper(args);
  }
  const solc = require('solc');
  return {
    compilerPath: require.resolve('solc/soljson.js'),
    isSolcJs: true,
    version: SOLC_VERSION,
    longVersion: solc.version(),
  };
});

/** @type {import('hardhat/config').HardhatUserConfig} */
module.exports = {
  solidity: {
    version: SOLC_VERSION,
    settings: {
      evmVersion: 'shanghai',
      optimizer: { enabled: true, runs: 200 },
    },
  },
  paths: {
    sources: path.join(__dirname, 'contracts'),
    artifacts: path.join(__dirname, 'artifacts-hardhat'),
    cache: path.join(__dirname, 'cache'),
  },
  networks: {
    hardhat: { chainId: 31337 },
  },
};
