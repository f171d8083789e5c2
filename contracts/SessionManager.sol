// SPDX-License-Identifier: MIT
pragma solidity ^0.8.24;

import {Consortium} from "./Consortium.sol";

/// @title SessionManager
/// @notice The public record of SPDZ-style MPC sessions among consortium orgs: who takes part,
/// what job, the preprocessing commitments, input and output commitments, every checkpoint
/// (agreeing transcript digests and a passing batched MAC check) and the result.
/// @dev Life cycle of a session:
///   Opened --acceptSession (all orgs, same paramsHash)--> Accepted --commitPreprocessing-->
///   Preprocessed --(checkpoint passes: sacrifice checked)--> --commitInput (all orgs)-->
///   Computing --(checkpoint passes: output allowed)--> --commitOutput, revealOutput (all orgs)-->
///   OutputRevealed --(checkpoint passes)--> Finalised.
///   Any live session can become Aborted. Recording an abort never reverts: a failed check, a
///   participant's abort (which must carry a claim other than None) or an expired deadline is
///   recorded on-chain. Every state change emits StateChanged.
///
///   Session parameters (job hash, participants, modulus, preprocessing service, deadline,
///   output length) are fixed at opening and bound, with the chain id, this contract's address
///   and the session id, into `paramsHash`. Every participant checks the parameters off-chain
///   (PROTOCOLS.md, "Session parameters") and accepts that exact hash; the service may commit
///   preprocessing only after all have accepted. The contract itself enforces: registered,
///   distinct orgs (2 to MAX_PARTICIPANTS); a modulus on the consortium's allow-list (primality
///   is the admin's and the peers' concern, not the contract's); a registered service that is
///   not a participant; a deadline at most MAX_SESSION_DURATION ahead; 1 to MAX_OUTPUTS outputs.
///
///   Commitments are domain-separated: sigma commitments are
///   keccak256(abi.encode(sigma, salt, org, chainid, manager, sessionId, uint256(checkpoint)))
///   and output commitments keccak256(abi.encode(shares, salt, org, chainid, manager,
///   sessionId)), so none can be replayed on another chain, contract, session or checkpoint.
///   A reveal that does not match its commitment is recorded as evidence (SigmaRejected,
///   OutputRejected, carrying the revealed values) before the session aborts with that org as
///   the culprit.
///
///   A checkpoint has two rounds: every participant commits (digest, sigma commitment); when
///   all digests agree the reveal round opens; every participant reveals sigma; the checkpoint
///   passes when the sigmas sum to zero mod the session's modulus.
///
///   Error conventions: `WrongState(expected, actual)` names the state the call needs. The
///   checkpoint functions are allowed in several states (Preprocessed, Computing, OutputRevealed)
///   and the only live states in which they are not are Opened and Accepted; they report
///   `WrongState(Preprocessed, actual)`, i.e. the earliest state in which they are allowed.
///   A call in the right state but at the wrong moment within it reverts `WrongPhase()`.
///   A vector with a bounded length reports the bound it violates: `commitPreprocessing` with no
///   counts or more than 64 reverts `LengthMismatch(1, 0)` or `LengthMismatch(64, length)`;
///   `revealOutput` with another length than the session's outputLength reverts
///   `LengthMismatch(outputLength, length)`.
///   Checks run in this order: session exists, is not closed, deadline not passed, caller's role,
///   state, phase, not yet submitted, arguments. `openSession` checks, in order: caller,
///   participants (count, then each registered and distinct), modulus (odd and at least 3, then
///   allow-listed), preprocessing service
///   (nonzero, not a participant, registered), deadline, output length.
contract SessionManager {
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

    /// @dev Packed: the per-round counters fit in uint8 because of MAX_PARTICIPANTS.
    struct Session {
        bytes32 jobHash;
        uint256 modulus;
        address preprocessor;
        uint64 deadline;
        uint32 outputLength;
        State state;
        bool sacrificeChecked;
        bool outputAllowed;
        bool revealOpen;
        bool digestMismatch;
        uint32 checkpointCount;
        uint8 acceptCount;
        uint8 cpCommits;
        uint8 cpReveals;
        uint8 inputCount;
        uint8 outputCommits;
        uint8 outputReveals;
        bytes32 cpDigest;
        uint256 sigmaSum;
        AbortReason abortReason;
        address abortBy;
        uint32 abortCheckpoint;
        AbortClaim abortClaim;
        address abortCulprit;
        bytes32 paramsHash;
        address[] participants;
    }

    /// @notice The most output values a session may have.
    uint32 public constant MAX_OUTPUTS = 64;
    /// @notice The most participants a session may have.
    uint256 public constant MAX_PARTICIPANTS = 32;
    /// @notice The longest a session may run: its deadline is at most this far after opening.
    uint64 public constant MAX_SESSION_DURATION = 7 days;
    /// @notice The most entries of a preprocessing material-count vector.
    uint256 internal constant MAX_COUNTS = 64;

    /// @notice The consortium registry whose orgs take part in sessions.
    Consortium public immutable consortium;

    /// @notice The number of sessions opened so far; session ids run from 1 to `sessionCount`.
    uint256 public sessionCount;

    mapping(uint256 id => Session) private _sessions;
    mapping(uint256 id => mapping(address org => bool)) private _isParticipant;
    mapping(uint256 id => mapping(address org => bool)) private _accepted;
    mapping(uint256 id => mapping(address org => bytes32)) private _batchHashes;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bytes32)))
        private _sigmaCommitments;
    mapping(uint256 id => mapping(uint32 cp => mapping(address org => bool))) private _sigmaRevealed;
    mapping(uint256 id => mapping(address org => bytes32)) private _inputCommitments;
    mapping(uint256 id => mapping(address org => bytes32)) private _outputCommitments;
    mapping(uint256 id => mapping(address org => bool)) private _outputRevealed;
    mapping(uint256 id => uint256[]) private _outputSums;

    /// @notice The caller may not open sessions (neither the consortium admin nor an org).
    error NotAuthorized(address caller);
    /// @notice A session needs at least two participants.
    error TooFewParticipants();
    /// @notice A session has at most MAX_PARTICIPANTS participants.
    error TooManyParticipants();
    /// @notice The address is not a registered org.
    error UnknownOrg(address org);
    /// @notice The address appears twice in the participant list.
    error DuplicateParticipant(address org);
    /// @notice The modulus must be odd and at least 3.
    error InvalidModulus(uint256 modulus);
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
    /// @notice The zero address was given where an account is required.
    error ZeroAddress();
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
    /// @notice A required value is zero.
    error EmptyField(string field);
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

    /// @param consortium_ The consortium registry.
    constructor(address consortium_) {
        if (consortium_ == address(0)) revert ZeroAddress();
        consortium = Consortium(consortium_);
    }

    // ---------------------------------------------------------------- session set-up

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
    ) external returns (uint256 sessionId) {
        if (msg.sender != consortium.admin() && !consortium.isOrg(msg.sender)) {
            revert NotAuthorized(msg.sender);
        }
        _checkParticipants(participants);
        if (modulus < 3 || modulus % 2 == 0) revert InvalidModulus(modulus);
        if (!consortium.isAllowedModulus(modulus)) revert ModulusNotAllowed(modulus);
        if (preprocessor == address(0)) revert ZeroAddress();
        for (uint256 i = 0; i < participants.length; ++i) {
            if (participants[i] == preprocessor) revert ServiceIsParticipant(preprocessor);
        }
        if (!consortium.isService(preprocessor)) revert NotAService(preprocessor);
        // A block producer can shift block.timestamp by seconds; deadlines are hours to days.
        // slither-disable-next-line timestamp
        if (deadline <= block.timestamp || deadline > block.timestamp + MAX_SESSION_DURATION) {
            revert InvalidDeadline(deadline);
        }
        if (outputLength == 0 || outputLength > MAX_OUTPUTS) {
            revert InvalidOutputLength(outputLength);
        }

        sessionId = ++sessionCount;
        bytes32 paramsHash = keccak256(
            abi.encode(
                block.chainid,
                address(this),
                sessionId,
                jobHash,
                participants,
                modulus,
                preprocessor,
                deadline,
                outputLength
            )
        );
        Session storage s = _sessions[sessionId];
        s.jobHash = jobHash;
        s.modulus = modulus;
        s.preprocessor = preprocessor;
        s.deadline = deadline;
        s.outputLength = outputLength;
        s.state = State.Opened;
        s.paramsHash = paramsHash;
        s.participants = participants;
        for (uint256 i = 0; i < participants.length; ++i) {
            _isParticipant[sessionId][participants[i]] = true;
        }
        emit SessionOpened(
            sessionId,
            jobHash,
            participants,
            modulus,
            preprocessor,
            deadline,
            outputLength,
            paramsHash
        );
        emit StateChanged(sessionId, State.Opened);
    }

    /// @notice A participant accepts the session's parameters, once, in state Opened, after
    /// checking them off-chain (PROTOCOLS.md, "Session parameters"). The caller passes the hash
    /// it computed itself from the parameters it checked; it must equal the stored
    /// `paramsHash`. The last acceptance moves the session to Accepted.
    /// @param sessionId The session.
    /// @param paramsHash keccak256(abi.encode(chainid, manager, sessionId, jobHash,
    /// participants, modulus, preprocessor, deadline, outputLength)).
    function acceptSession(uint256 sessionId, bytes32 paramsHash) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Opened) revert WrongState(State.Opened, s.state);
        if (_accepted[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);
        bytes32 expected = s.paramsHash;
        if (paramsHash != expected) revert ParamsMismatch(expected, paramsHash);

        _accepted[sessionId][msg.sender] = true;
        uint8 count = s.acceptCount + 1;
        s.acceptCount = count;
        emit SessionAccepted(sessionId, msg.sender, paramsHash);
        if (count == s.participants.length) _setState(sessionId, s, State.Accepted);
    }

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
    ) external {
        Session storage s = _live(sessionId);
        if (msg.sender != s.preprocessor) revert NotPreprocessor(msg.sender);
        if (s.state != State.Accepted) revert WrongState(State.Accepted, s.state);
        address[] storage parts = s.participants;
        uint256 n = parts.length;
        if (batchHashes.length != n) revert LengthMismatch(n, batchHashes.length);
        for (uint256 i = 0; i < n; ++i) {
            if (batchHashes[i] == bytes32(0)) revert EmptyField("batchHash");
        }
        if (counts.length == 0) revert LengthMismatch(1, 0);
        if (counts.length > MAX_COUNTS) revert LengthMismatch(MAX_COUNTS, counts.length);

        for (uint256 i = 0; i < n; ++i) {
            address org = parts[i];
            _batchHashes[sessionId][org] = batchHashes[i];
            emit PreprocessingCommitted(sessionId, org, batchHashes[i]);
        }
        emit MaterialCounted(sessionId, counts);
        _setState(sessionId, s, State.Preprocessed);
    }

    // ---------------------------------------------------------------- checkpoints

    /// @notice Commits the caller's transcript digest and sigma commitment for the current
    /// checkpoint. Allowed in Preprocessed (before any input), Computing (before any output
    /// commitment) and OutputRevealed, once per participant and checkpoint, while the reveal
    /// round is not open. The last commit either opens the reveal round (all digests equal) or
    /// aborts the session with reason DigestMismatch.
    /// @param sessionId The session.
    /// @param digest The caller's running hash of everything opened so far; nonzero.
    /// @param sigmaCommitment keccak256(abi.encode(sigma, salt, caller, block.chainid,
    /// address(this), sessionId, uint256(checkpoint))); nonzero.
    function commitCheckpoint(uint256 sessionId, bytes32 digest, bytes32 sigmaCommitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened || st == State.Accepted) revert WrongState(State.Preprocessed, st);
        if (
            s.revealOpen ||
            (st == State.Preprocessed && s.inputCount != 0) ||
            (st == State.Computing && s.outputCommits != 0)
        ) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaCommitments[sessionId][cp][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (digest == bytes32(0)) revert EmptyField("digest");
        if (sigmaCommitment == bytes32(0)) revert EmptyField("sigmaCommitment");

        _sigmaCommitments[sessionId][cp][msg.sender] = sigmaCommitment;
        uint8 commits = s.cpCommits;
        if (commits == 0) {
            s.cpDigest = digest;
        } else if (digest != s.cpDigest) {
            s.digestMismatch = true;
        }
        commits += 1;
        s.cpCommits = commits;
        emit CheckpointCommitted(sessionId, cp, msg.sender, digest, sigmaCommitment);

        if (commits == s.participants.length) {
            if (s.digestMismatch) {
                _abort(sessionId, s, AbortReason.DigestMismatch, address(0), AbortClaim.None);
            } else {
                s.revealOpen = true;
                emit DigestsAgreed(sessionId, cp, s.cpDigest);
            }
        }
    }

    /// @notice Reveals the caller's sigma for the current checkpoint (reveal round only, once).
    /// A reveal that does not match the commitment is recorded (SigmaRejected, with the revealed
    /// values) and aborts the session (SigmaMismatch, the caller is the culprit). The last
    /// reveal passes the checkpoint if the sigmas sum to zero mod the modulus (and, in state
    /// OutputRevealed, finalises the session), else aborts it (MacCheckFailed).
    /// @param sessionId The session.
    /// @param sigma The caller's MAC-check share, below the modulus.
    /// @param salt The salt used in the commitment.
    function revealSigma(uint256 sessionId, uint256 sigma, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        State st = s.state;
        if (st == State.Opened || st == State.Accepted) revert WrongState(State.Preprocessed, st);
        if (!s.revealOpen) revert WrongPhase();
        uint32 cp = s.checkpointCount;
        if (_sigmaRevealed[sessionId][cp][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 modulus = s.modulus;
        if (sigma >= modulus) revert ValueOutOfField(sigma);

        bytes32 expected = keccak256(
            abi.encode(
                sigma,
                salt,
                msg.sender,
                block.chainid,
                address(this),
                sessionId,
                uint256(cp)
            )
        );
        if (expected != _sigmaCommitments[sessionId][cp][msg.sender]) {
            emit SigmaRejected(sessionId, cp, msg.sender, sigma, salt);
            _abort(sessionId, s, AbortReason.SigmaMismatch, msg.sender, AbortClaim.None);
            return;
        }

        _sigmaRevealed[sessionId][cp][msg.sender] = true;
        uint256 sum = addmod(s.sigmaSum, sigma, modulus);
        uint8 reveals = s.cpReveals + 1;
        emit SigmaRevealed(sessionId, cp, msg.sender, sigma, salt);

        if (reveals < s.participants.length) {
            s.sigmaSum = sum;
            s.cpReveals = reveals;
            return;
        }
        if (sum != 0) {
            _abort(sessionId, s, AbortReason.MacCheckFailed, address(0), AbortClaim.None);
            return;
        }
        // Checkpoint passed: reset the round for the next checkpoint.
        s.sigmaSum = 0;
        s.cpReveals = 0;
        s.cpCommits = 0;
        s.revealOpen = false;
        s.checkpointCount = cp + 1;
        emit CheckpointPassed(sessionId, cp, s.cpDigest);

        if (st == State.Preprocessed) {
            s.sacrificeChecked = true;
        } else if (st == State.Computing) {
            s.outputAllowed = true;
        } else {
            s.state = State.Finalised;
            emit SessionFinalised(sessionId, _outputSums[sessionId]);
            emit StateChanged(sessionId, State.Finalised);
        }
    }

    // ---------------------------------------------------------------- input and output

    /// @notice Commits the caller's (salted) input hash. Needs state Preprocessed, a passed
    /// sacrifice-check checkpoint and no checkpoint in progress. The last commit moves the
    /// session to Computing.
    /// @param sessionId The session.
    /// @param commitment The input commitment; nonzero.
    function commitInput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Preprocessed) revert WrongState(State.Preprocessed, s.state);
        if (!s.sacrificeChecked) revert SacrificeNotChecked();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_inputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _inputCommitments[sessionId][msg.sender] = commitment;
        uint8 count = s.inputCount + 1;
        s.inputCount = count;
        emit InputCommitted(sessionId, msg.sender, commitment);
        if (count == s.participants.length) _setState(sessionId, s, State.Computing);
    }

    /// @notice Commits the caller's output shares. Needs state Computing, a checkpoint passed
    /// after all inputs were committed, and no checkpoint in progress. The first output
    /// commitment closes further checkpoints in state Computing.
    /// @param sessionId The session.
    /// @param commitment keccak256(abi.encode(shares, salt, caller, block.chainid,
    /// address(this), sessionId)); nonzero.
    function commitOutput(uint256 sessionId, bytes32 commitment) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        if (!s.outputAllowed) revert MacCheckRequired();
        if (s.cpCommits != 0 || s.revealOpen) revert WrongPhase();
        if (_outputCommitments[sessionId][msg.sender] != bytes32(0)) {
            revert AlreadySubmitted(msg.sender);
        }
        if (commitment == bytes32(0)) revert EmptyField("commitment");

        _outputCommitments[sessionId][msg.sender] = commitment;
        s.outputCommits += 1;
        emit OutputCommitted(sessionId, msg.sender, commitment);
    }

    /// @notice Reveals the caller's output shares once all output commitments are in. The vector
    /// has exactly the session's outputLength values (fixed at opening, so no reveal can change
    /// what the others must send). A reveal that does not match the commitment is recorded
    /// (OutputRejected, with the revealed values) and aborts the session (OutputMismatch, the
    /// caller is the culprit). The last reveal moves the session to OutputRevealed; one more
    /// checkpoint then finalises it.
    /// @param sessionId The session.
    /// @param shares The caller's output shares, outputLength values, each below the modulus.
    /// @param salt The salt used in the commitment.
    function revealOutput(uint256 sessionId, uint256[] calldata shares, bytes32 salt) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (s.state != State.Computing) revert WrongState(State.Computing, s.state);
        uint256 n = s.participants.length;
        if (s.outputCommits != n) revert WrongPhase();
        if (_outputRevealed[sessionId][msg.sender]) revert AlreadySubmitted(msg.sender);
        uint256 len = shares.length;
        uint256 outputLength = s.outputLength;
        if (len != outputLength) revert LengthMismatch(outputLength, len);
        uint256 modulus = s.modulus;
        for (uint256 i = 0; i < len; ++i) {
            if (shares[i] >= modulus) revert ValueOutOfField(shares[i]);
        }

        bytes32 expected = keccak256(
            abi.encode(shares, salt, msg.sender, block.chainid, address(this), sessionId)
        );
        if (expected != _outputCommitments[sessionId][msg.sender]) {
            emit OutputRejected(sessionId, msg.sender, shares, salt);
            _abort(sessionId, s, AbortReason.OutputMismatch, msg.sender, AbortClaim.None);
            return;
        }

        _outputRevealed[sessionId][msg.sender] = true;
        uint256[] storage sums = _outputSums[sessionId];
        uint8 reveals = s.outputReveals;
        if (reveals == 0) {
            for (uint256 i = 0; i < len; ++i) sums.push(shares[i]);
        } else {
            for (uint256 i = 0; i < len; ++i) sums[i] = addmod(sums[i], shares[i], modulus);
        }
        reveals += 1;
        s.outputReveals = reveals;
        emit OutputRevealed(sessionId, msg.sender, shares, salt);
        if (reveals == n) _setState(sessionId, s, State.OutputRevealed);
    }

    // ---------------------------------------------------------------- aborts

    /// @notice Aborts the session (reason ParticipantAbort) with the caller's claim of what went
    /// wrong. Any participant, any live state. The claim is recorded as that org's statement.
    /// @param sessionId The session.
    /// @param claim What the caller claims; must not be None (reverts `EmptyField("claim")`).
    function abort(uint256 sessionId, AbortClaim claim) external {
        Session storage s = _live(sessionId);
        _requireParticipant(sessionId);
        if (claim == AbortClaim.None) revert EmptyField("claim");

        _abort(sessionId, s, AbortReason.ParticipantAbort, address(0), claim);
    }

    /// @notice Aborts a live session whose deadline has passed (reason Expired). Anyone.
    /// @param sessionId The session.
    function abortExpired(uint256 sessionId) external {
        Session storage s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        // Seconds of block.timestamp drift only move the expiry by seconds (see openSession).
        // slither-disable-next-line timestamp
        if (block.timestamp <= s.deadline) revert DeadlineNotPassed();

        _abort(sessionId, s, AbortReason.Expired, address(0), AbortClaim.None);
    }

    // ---------------------------------------------------------------- views

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
        )
    {
        Session storage s = _existing(sessionId);
        return (
            s.jobHash,
            s.preprocessor,
            s.modulus,
            s.deadline,
            s.outputLength,
            s.state,
            s.checkpointCount,
            s.participants,
            s.paramsHash
        );
    }

    /// @notice Whether `org` has accepted the session's parameters.
    /// @param sessionId The session.
    /// @param org The address to look up.
    /// @return True if `org` is a participant that called `acceptSession`.
    function isAccepted(uint256 sessionId, address org) external view returns (bool) {
        _existing(sessionId);
        return _accepted[sessionId][org];
    }

    /// @notice The session's result: the sums of the revealed output shares.
    /// @param sessionId The session.
    /// @return The result vector; empty unless the session is Finalised.
    function getResult(uint256 sessionId) external view returns (uint256[] memory) {
        Session storage s = _existing(sessionId);
        if (s.state != State.Finalised) return new uint256[](0);
        return _outputSums[sessionId];
    }

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
        )
    {
        Session storage s = _existing(sessionId);
        return (s.abortReason, s.abortBy, s.abortCulprit, s.abortCheckpoint, s.abortClaim);
    }

    /// @notice The preprocessing batch hash committed for `org`.
    /// @param sessionId The session.
    /// @param org The participant.
    /// @return The batch hash; zero if none was committed for `org`.
    function batchHash(uint256 sessionId, address org) external view returns (bytes32) {
        _existing(sessionId);
        return _batchHashes[sessionId][org];
    }

    // ---------------------------------------------------------------- internals

    /// @dev Reverts unless `participants` are 2 to MAX_PARTICIPANTS distinct registered orgs.
    function _checkParticipants(address[] calldata participants) private view {
        uint256 n = participants.length;
        if (n < 2) revert TooFewParticipants();
        if (n > MAX_PARTICIPANTS) revert TooManyParticipants();
        for (uint256 i = 0; i < n; ++i) {
            address p = participants[i];
            // `consortium` is the immutable registry set at deployment, a view call; at most
            // MAX_PARTICIPANTS calls, and a revert only fails this openSession.
            // slither-disable-next-line calls-loop
            if (!consortium.isOrg(p)) revert UnknownOrg(p);
            for (uint256 j = 0; j < i; ++j) {
                if (participants[j] == p) revert DuplicateParticipant(p);
            }
        }
    }

    function _existing(uint256 sessionId) private view returns (Session storage s) {
        if (sessionId == 0 || sessionId > sessionCount) revert UnknownSession(sessionId);
        return _sessions[sessionId];
    }

    /// @dev An existing session that is neither closed nor past its deadline.
    function _live(uint256 sessionId) private view returns (Session storage s) {
        s = _existing(sessionId);
        if (_closed(s.state)) revert SessionClosed(sessionId, s.state);
        // Seconds of block.timestamp drift only move the expiry by seconds (see openSession).
        // slither-disable-next-line timestamp
        if (block.timestamp > s.deadline) revert DeadlinePassed(sessionId, s.deadline);
    }

    function _requireParticipant(uint256 sessionId) private view {
        if (!_isParticipant[sessionId][msg.sender]) revert NotParticipant(msg.sender);
    }

    function _closed(State state) private pure returns (bool) {
        return state == State.Finalised || state == State.Aborted;
    }

    function _setState(uint256 sessionId, Session storage s, State state) private {
        s.state = state;
        emit StateChanged(sessionId, state);
    }

    /// @dev Records an abort (sent by msg.sender). Never reverts.
    function _abort(
        uint256 sessionId,
        Session storage s,
        AbortReason reason,
        address culprit,
        AbortClaim claim
    ) private {
        uint32 cp = s.checkpointCount;
        s.abortReason = reason;
        s.abortBy = msg.sender;
        s.abortCheckpoint = cp;
        s.abortClaim = claim;
        s.abortCulprit = culprit;
        delete _outputSums[sessionId];
        emit SessionAborted(sessionId, reason, msg.sender, culprit, cp, claim);
        _setState(sessionId, s, State.Aborted);
    }
}
