// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {IConsortium} from "./IConsortium.sol";

/// @title ISessionManager
/// @notice The public record of SPDZ-style MPC sessions among consortium orgs (see
/// SessionManager for the life cycle and the error conventions).
/// @dev Besides the errors below, the manager reverts with the shared `ZeroAddress`,
/// `UnknownOrg`, `InvalidModulus` and `EmptyField` (utils/Errors.sol).
interface ISessionManager {
    /// @notice The life-cycle state of a session.
    enum State {
        None,
        Opened,
        Accepted,
        Preprocessed,
        Computing,
        OutputRevealed,
        Finalised,
        Aborted
    }

    /// @notice Why a session was aborted.
    enum AbortReason {
        None,
        DigestMismatch,
        SigmaMismatch,
        MacCheckFailed,
        OutputMismatch,
        ParticipantAbort,
        Expired
    }

    /// @notice What a participant claims when it aborts (reason ParticipantAbort). A claim is
    /// that org's statement, not proof: the auditor shows it as such unless the chain holds
    /// evidence it can re-derive. Aborts the contract detects itself record `None`.
    enum AbortClaim {
        None,
        ProtocolError,
        TransportError,
        Timeout,
        ParametersRejected,
        MaterialRejected,
        SacrificeFailed,
        BitCheckFailed,
        MaskCheckFailed
    }

    /// @notice The caller may not open sessions (neither the consortium admin nor an org).
    error NotAuthorized(address caller);
    /// @notice A session needs at least two participants.
    error TooFewParticipants();
    /// @notice A session has at most MAX_PARTICIPANTS participants.
    error TooManyParticipants();
    /// @notice The address appears twice in the participant list.
    error DuplicateParticipant(address org);
    /// @notice The modulus is not on the consortium's allow-list.
    error ModulusNotAllowed(uint256 modulus);
    /// @notice The preprocessor is not a registered preprocessing service.
    error NotAService(address preprocessor);
    /// @notice The preprocessor is one of the participants.
    error ServiceIsParticipant(address preprocessor);
    /// @notice The output length must be between 1 and MAX_OUTPUTS.
    error InvalidOutputLength(uint32 outputLength);
    /// @notice The accepted parameters hash is not the session's.
    error ParamsMismatch(bytes32 expected, bytes32 given);
    /// @notice The deadline must lie in the future, at most MAX_SESSION_DURATION ahead.
    error InvalidDeadline(uint64 deadline);
    /// @notice No session has this id.
    error UnknownSession(uint256 sessionId);
    /// @notice The session is Finalised or Aborted.
    error SessionClosed(uint256 sessionId, State state);
    /// @notice The session's deadline has passed; only `abortExpired` remains.
    error DeadlinePassed(uint256 sessionId, uint64 deadline);
    /// @notice `abortExpired` was called before the deadline passed.
    error DeadlineNotPassed();
    /// @notice The caller is not a participant of the session.
    error NotParticipant(address caller);
    /// @notice The caller is not the session's preprocessing service.
    error NotPreprocessor(address caller);
    /// @notice The session is not in the state the call needs.
    error WrongState(State expected, State actual);
    /// @notice The call is not allowed at this point of the current state.
    error WrongPhase();
    /// @notice A list has the wrong length.
    error LengthMismatch(uint256 expected, uint256 actual);
    /// @notice The caller already submitted this item.
    error AlreadySubmitted(address caller);
    /// @notice A value is not below the session's modulus.
    error ValueOutOfField(uint256 value);
    /// @notice Inputs need a passed sacrifice-check checkpoint first.
    error SacrificeNotChecked();
    /// @notice Outputs need a checkpoint passed after all inputs were committed.
    error MacCheckRequired();

    /// @notice A session was opened with these parameters; `paramsHash` binds them (with the
    /// chain id, this contract and the session id) for the participants to accept.
    event SessionOpened(
        uint256 indexed sessionId,
        bytes32 jobHash,
        address[] participants,
        uint256 modulus,
        address preprocessor,
        uint64 deadline,
        uint32 outputLength,
        bytes32 paramsHash
    );
    /// @notice `org` checked the session's parameters and accepted `paramsHash`.
    event SessionAccepted(uint256 indexed sessionId, address indexed org, bytes32 paramsHash);
    /// @notice A session moved to `state`.
    event StateChanged(uint256 indexed sessionId, State state);
    /// @notice The preprocessing service committed to the hash of `org`'s batch.
    event PreprocessingCommitted(uint256 indexed sessionId, address indexed org, bytes32 batchHash);
    /// @notice The service's counts of dealt material (an opaque vector defined off-chain), for
    /// the participants and the auditor to check against the job.
    event MaterialCounted(uint256 indexed sessionId, uint256[] counts);
    /// @notice `org` committed its transcript digest and sigma commitment for a checkpoint.
    event CheckpointCommitted(
        uint256 indexed sessionId,
        uint32 indexed checkpoint,
        address indexed org,
        bytes32 digest,
        bytes32 sigmaCommitment
    );
    /// @notice All participants posted the same digest; the reveal round is open.
    event DigestsAgreed(uint256 indexed sessionId, uint32 indexed checkpoint, bytes32 digest);
    /// @notice `org` revealed its sigma for a checkpoint, matching its commitment.
    event SigmaRevealed(
        uint256 indexed sessionId,
        uint32 indexed checkpoint,
        address indexed org,
        uint256 sigma,
        bytes32 salt
    );
    /// @notice Evidence: `org` revealed a sigma and salt that do not match its commitment (the
    /// session aborts with `org` as the culprit; anyone can recompute the mismatch).
    event SigmaRejected(
        uint256 indexed sessionId,
        uint32 indexed checkpoint,
        address indexed org,
        uint256 sigma,
        bytes32 salt
    );
    /// @notice The sigmas summed to zero: the checkpoint's MAC check passed.
    event CheckpointPassed(uint256 indexed sessionId, uint32 indexed checkpoint, bytes32 digest);
    /// @notice `org` committed to its input.
    event InputCommitted(uint256 indexed sessionId, address indexed org, bytes32 commitment);
    /// @notice `org` committed to its output shares.
    event OutputCommitted(uint256 indexed sessionId, address indexed org, bytes32 commitment);
    /// @notice `org` revealed its output shares, matching its commitment.
    event OutputRevealed(
        uint256 indexed sessionId,
        address indexed org,
        uint256[] shares,
        bytes32 salt
    );
    /// @notice Evidence: `org` revealed output shares and salt that do not match its commitment
    /// (the session aborts with `org` as the culprit).
    event OutputRejected(
        uint256 indexed sessionId,
        address indexed org,
        uint256[] shares,
        bytes32 salt
    );
    /// @notice The output MAC check passed; `result` is the session's result.
    event SessionFinalised(uint256 indexed sessionId, uint256[] result);
    /// @notice The session was aborted (`by` sent the transaction; `culprit` is the org at
    /// fault where the chain proves it, else the zero address; `claim` is the aborting
    /// participant's claim for ParticipantAbort, else None).
    event SessionAborted(
        uint256 indexed sessionId,
        AbortReason reason,
        address by,
        address culprit,
        uint32 checkpoint,
        AbortClaim claim
    );

    /// @notice The most output values a session may have.
    /// @return 64.
    // The getter of a public constant, named as the constant is (Solidity's style for
    // constants): slither's mixedCase rule is for functions written as functions.
    // slither-disable-next-line naming-convention
    function MAX_OUTPUTS() external view returns (uint32);

    /// @notice The most participants a session may have.
    /// @return 32.
    // The getter of a public constant, named as the constant is (Solidity's style for
    // constants): slither's mixedCase rule is for functions written as functions.
    // slither-disable-next-line naming-convention
    function MAX_PARTICIPANTS() external view returns (uint256);

    /// @notice The longest a session may run: its deadline is at most this far after opening.
    /// @return 7 days, in seconds.
    // The getter of a public constant, named as the constant is (Solidity's style for
    // constants): slither's mixedCase rule is for functions written as functions.
    // slither-disable-next-line naming-convention
    function MAX_SESSION_DURATION() external view returns (uint64);

    /// @notice The consortium registry whose orgs take part in sessions.
    /// @return The registry.
    function consortium() external view returns (IConsortium);

    /// @notice The number of sessions opened so far; session ids run from 1 to `sessionCount`.
    /// @return The session count.
    function sessionCount() external view returns (uint256);

    /// @notice Opens a session. Callable by the consortium admin or a registered org. The
    /// session waits in Opened until every participant has accepted its `paramsHash`.
    /// @param jobHash The hash of the job (what is computed, on which schema).
    /// @param participants The participating orgs (2 to MAX_PARTICIPANTS, registered, distinct).
    /// @param modulus The field modulus: on the consortium's allow-list.
    /// @param preprocessor The preprocessing service: registered as a service, not a participant.
    /// @param deadline Unix time after which the session can only be aborted; in the future and
    /// at most MAX_SESSION_DURATION from now.
    /// @param outputLength The number of output values (1 to MAX_OUTPUTS).
    /// @return sessionId The new session's id.
    function openSession(
        bytes32 jobHash,
        address[] calldata participants,
        uint256 modulus,
        address preprocessor,
        uint64 deadline,
        uint32 outputLength
    ) external returns (uint256 sessionId);

    /// @notice A participant accepts the session's parameters, once, in state Opened, after
    /// checking them off-chain (docs/protocols.md, "Session parameters"). The caller passes the hash
    /// it computed itself from the parameters it checked; it must equal the stored
    /// `paramsHash`. The last acceptance moves the session to Accepted.
    /// @param sessionId The session.
    /// @param paramsHash keccak256(abi.encode(chainid, manager, sessionId, jobHash,
    /// participants, modulus, preprocessor, deadline, outputLength)).
    function acceptSession(uint256 sessionId, bytes32 paramsHash) external;

    /// @notice The preprocessing service commits to the hash of each participant's batch and
    /// publishes the counts of the material it dealt. Needs state Accepted (every participant
    /// accepted the parameters).
    /// @param sessionId The session.
    /// @param batchHashes One nonzero hash per participant, in participant order.
    /// @param counts The material counts (an opaque vector defined off-chain, 1 to 64 entries),
    /// emitted in MaterialCounted for the participants and the auditor; not stored.
    function commitPreprocessing(
        uint256 sessionId,
        bytes32[] calldata batchHashes,
        uint256[] calldata counts
    ) external;

    /// @notice Commits the caller's transcript digest and sigma commitment for the current
    /// checkpoint. Allowed in Preprocessed (before any input), Computing (before any output
    /// commitment) and OutputRevealed, once per participant and checkpoint, while the reveal
    /// round is not open. The last commit either opens the reveal round (all digests equal) or
    /// aborts the session with reason DigestMismatch.
    /// @param sessionId The session.
    /// @param digest The caller's running hash of everything opened so far; nonzero.
    /// @param sigmaCommitment keccak256(abi.encode(sigma, salt, caller, block.chainid,
    /// address(this), sessionId, uint256(checkpoint))); nonzero.
    function commitCheckpoint(uint256 sessionId, bytes32 digest, bytes32 sigmaCommitment) external;

    /// @notice Reveals the caller's sigma for the current checkpoint (reveal round only, once).
    /// A reveal that does not match the commitment is recorded (SigmaRejected, with the revealed
    /// values) and aborts the session (SigmaMismatch, the caller is the culprit). The last
    /// reveal passes the checkpoint if the sigmas sum to zero mod the modulus (and, in state
    /// OutputRevealed, finalises the session), else aborts it (MacCheckFailed).
    /// @param sessionId The session.
    /// @param sigma The caller's MAC-check share, below the modulus.
    /// @param salt The salt used in the commitment.
    function revealSigma(uint256 sessionId, uint256 sigma, bytes32 salt) external;

    /// @notice Commits the caller's (salted) input hash. Needs state Preprocessed, a passed
    /// sacrifice-check checkpoint and no checkpoint in progress. The last commit moves the
    /// session to Computing.
    /// @param sessionId The session.
    /// @param commitment The input commitment; nonzero.
    function commitInput(uint256 sessionId, bytes32 commitment) external;

    /// @notice Commits the caller's output shares. Needs state Computing, a checkpoint passed
    /// after all inputs were committed, and no checkpoint in progress. The first output
    /// commitment closes further checkpoints in state Computing.
    /// @param sessionId The session.
    /// @param commitment keccak256(abi.encode(shares, salt, caller, block.chainid,
    /// address(this), sessionId)); nonzero.
    function commitOutput(uint256 sessionId, bytes32 commitment) external;

    /// @notice Reveals the caller's output shares once all output commitments are in. The vector
    /// has exactly the session's outputLength values (fixed at opening, so no reveal can change
    /// what the others must send). A reveal that does not match the commitment is recorded
    /// (OutputRejected, with the revealed values) and aborts the session (OutputMismatch, the
    /// caller is the culprit). The last reveal moves the session to OutputRevealed; one more
    /// checkpoint then finalises it.
    /// @param sessionId The session.
    /// @param shares The caller's output shares, outputLength values, each below the modulus.
    /// @param salt The salt used in the commitment.
    function revealOutput(uint256 sessionId, uint256[] calldata shares, bytes32 salt) external;

    /// @notice Aborts the session (reason ParticipantAbort) with the caller's claim of what went
    /// wrong. Any participant, any live state. The claim is recorded as that org's statement.
    /// @param sessionId The session.
    /// @param claim What the caller claims; must not be None (reverts `EmptyField("claim")`).
    function abort(uint256 sessionId, AbortClaim claim) external;

    /// @notice Aborts a live session whose deadline has passed (reason Expired). Anyone.
    /// @param sessionId The session.
    function abortExpired(uint256 sessionId) external;

    /// @notice A session's parameters and progress.
    /// @param sessionId The session.
    /// @return jobHash The job's hash.
    /// @return preprocessor The preprocessing service's address.
    /// @return modulus The field modulus.
    /// @return deadline The deadline (Unix time).
    /// @return outputLength The number of output values.
    /// @return state The current state.
    /// @return checkpointCount The number of the current (next) checkpoint.
    /// @return participants The participating orgs.
    /// @return paramsHash The hash every participant must accept (see `acceptSession`).
    function getSession(
        uint256 sessionId
    )
        external
        view
        returns (
            bytes32 jobHash,
            address preprocessor,
            uint256 modulus,
            uint64 deadline,
            uint32 outputLength,
            State state,
            uint32 checkpointCount,
            address[] memory participants,
            bytes32 paramsHash
        );

    /// @notice Whether `org` has accepted the session's parameters.
    /// @param sessionId The session.
    /// @param org The address to look up.
    /// @return True if `org` is a participant that called `acceptSession`.
    function isAccepted(uint256 sessionId, address org) external view returns (bool);

    /// @notice The session's result: the sums of the revealed output shares.
    /// @param sessionId The session.
    /// @return The result vector; empty unless the session is Finalised.
    function getResult(uint256 sessionId) external view returns (uint256[] memory);

    /// @notice Why and where a session was aborted (all zero unless Aborted).
    /// @param sessionId The session.
    /// @return reason The abort reason.
    /// @return by The account that sent the aborting transaction.
    /// @return culprit The org at fault where the chain proves it, else the zero address.
    /// @return checkpoint The checkpoint number current at the abort.
    /// @return claim The participant's claim (ParticipantAbort), else None.
    function getAbort(
        uint256 sessionId
    )
        external
        view
        returns (
            AbortReason reason,
            address by,
            address culprit,
            uint32 checkpoint,
            AbortClaim claim
        );

    /// @notice The preprocessing batch hash committed for `org`.
    /// @param sessionId The session.
    /// @param org The participant.
    /// @return The batch hash; zero if none was committed for `org`.
    function batchHash(uint256 sessionId, address org) external view returns (bytes32);
}
